"""Usage tasks."""
