"""The builders live in tests/builders.py (a plugin for the whole suite); re-exported for imports."""

from tests.builders import NOW, ONE_DAY, ZERO, day, send_events  # noqa: F401
