"""The pinned upstream schema data for the offline test checks: `make schemas` (see download.py)."""
