"""Trading deals: negotiations."""
