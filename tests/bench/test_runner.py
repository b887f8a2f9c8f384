"""The benchmark runner's own pieces that need no database: section writing, the PostgreSQL guard,
and the deterministic workloads."""

from decimal import Decimal

import bench.__main__ as runner
from bench import billing_run, load


def test_available_lists_every_benchmark_but_the_helpers():
    assert {"billing_run", "ingest", "load", "revenue_schedules", "waterfall"} <= set(runner.available())
    assert not [name for name in runner.available() if name.startswith("_")]


def test_write_section_replaces_only_its_own_section(tmp_path, monkeypatch):
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(runner, "DOC", doc)
    monkeypatch.setattr(runner, "machine", lambda: "test machine")

    runner.write_section("alpha", "## Alpha\n\nfirst")
    runner.write_section("beta", "## Beta\n\nsecond")
    runner.write_section("alpha", "## Alpha\n\nthird")

    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    assert text.count("<!-- bench:alpha -->") == 1 and "third" in text and "first" not in text
    assert "second" in text
    assert text.index("bench:alpha") < text.index("bench:beta")  # a rewritten section keeps its place


def test_the_runner_refuses_a_database_that_is_not_postgresql(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(runner, "DOC", doc)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")

    assert runner.main(["waterfall"]) == 2

    assert "measure PostgreSQL" in capsys.readouterr().out
    assert not doc.exists()


def test_unknown_benchmarks_are_named(capsys):
    assert runner.main(["nope"]) == 2
    assert "unknown benchmark(s): nope" in capsys.readouterr().out


def test_the_billing_price_of_a_customer_follows_the_plan():
    # 100.00 fee in arrears + graduated API calls: the first 50 free, then 0.05 each.
    assert billing_run.expected_total(0) == Decimal("100.00")
    assert billing_run.expected_total(50) == Decimal("100.00")
    assert billing_run.expected_total(100) == Decimal("102.50")


def test_load_batches_are_new_events_for_known_customers():
    import json
    from datetime import UTC, datetime

    ctx = {"customers": ["a", "b"], "meter": "llm_tokens", "field": "tokens", "group_by": ["model"]}
    base = datetime(2026, 1, 1, tzinfo=UTC)
    first = json.loads(load._events(0, 0, ctx, base))["events"]
    second = json.loads(load._events(0, 1, ctx, base))["events"]
    other_client = json.loads(load._events(1, 0, ctx, base))["events"]

    assert len(first) == load.BATCH
    ids = {e["transaction_id"] for e in first + second + other_client}
    assert len(ids) == 3 * load.BATCH  # every request carries new events only
    assert {e["customer"] for e in first} == {"a", "b"}
    assert all(isinstance(e["properties"]["tokens"], int) and "model" in e["properties"] for e in first)
