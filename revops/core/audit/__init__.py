"""The hash-chained audit trail, a kernel service every layer calls (house-style: Dependency direction)."""
