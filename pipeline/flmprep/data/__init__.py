"""Public data API (in progress)."""
