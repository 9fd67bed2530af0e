"""qsigner."""
