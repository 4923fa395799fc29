"""Trading deals: licences."""
