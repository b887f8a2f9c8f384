"""Benchmarks: ``python -m bench [names...]`` (``make bench``). Each ``bench/<name>.py`` has a
``run()`` that returns a markdown section; the runner writes it into docs/benchmarks.md."""
