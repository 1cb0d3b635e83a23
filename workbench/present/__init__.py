"""Charts and shareable reports."""
