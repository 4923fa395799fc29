"""Patent identifiers and classifications: pure rules, no I/O."""
