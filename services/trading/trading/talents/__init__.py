"""Trading deals: talents."""
