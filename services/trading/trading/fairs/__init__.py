"""Trading deals: fairs."""
