"""shelters."""
