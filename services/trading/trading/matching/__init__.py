"""Matchmaking between published listings and posted demands."""
