"""Trading deals: pledges."""
