"""Trading deals: transfers."""
