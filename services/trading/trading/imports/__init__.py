"""Bulk import of listings from CSV."""
