"""bench/__main__: rewrites only its own benchmark's section of docs/benchmarks.md."""

from __future__ import annotations

import bench.__main__ as runner


def test_write_section_replaces_only_its_own_section(tmp_path, monkeypatch):
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(runner, "DOC", doc)
    runner.write_section("other", "## Other\n\nold other")
    runner.write_section("ingest", "## Ingest\n\nfirst")
    runner.write_section("ingest", "## Ingest\n\nsecond")
    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    assert "old other" in text and "second" in text and "first" not in text
    assert text.count("<!-- bench:ingest -->") == 1 and "_Measured " in text


def test_ingest_benchmark_refuses_sqlite_politely(monkeypatch, capsys):
    import bench.ingest

    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.sqlite3")
    assert bench.ingest.run() is None
    assert "PostgreSQL" in capsys.readouterr().out
