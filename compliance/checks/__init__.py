"""Continuous controls: every invariant of accounting.md §7 and the issue-7 controls, run after every
billing run, revenue run and amendment, nightly, and on demand. Each failure becomes an exception."""

from compliance.checks import invariants  # noqa: F401  (registers the checks)
from compliance.checks.registry import CHECKS, Check, Finding

__all__ = ["CHECKS", "Check", "Finding"]
