"""Usage ingestion throughput on PostgreSQL: HTTP endpoint vs the service vs raw COPY, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord_bench .venv/bin/python -m bench ingest

Creates (and finally drops) a scratch database ``concord_bench_ingest`` on DATABASE_URL's server,
migrates it, seeds customers and a meter, then, each phase on empty tables:

1. raw ``COPY`` of the unique rows into ``billing_usageevent`` (the baseline), 1,000 rows a transaction;
2. ``billing.usage.ingest.ingest_events`` called directly in one process, 1,000-event batches;
3. HTTP: gunicorn on 127.0.0.1 and client processes posting 1,000-event batches to /api/v1/events.

The workload has 10% duplicates (each batch repeats 100 transaction_ids of the batch before it).
Tunables (environment): BENCH_EVENTS (200000), BENCH_ROUNDS (3; the best round of each phase is
reported, all rounds are listed), BENCH_CLIENTS (4), BENCH_GUNICORN ("--workers 3 --worker-class
sync"), BENCH_KEEP_DB=1 to keep the scratch database, BENCH_PROFILE=FILE to cProfile the service.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench._common import PY, ROOT, create_db, django_env, drop_db, gunicorn, manage, server_url

DB_NAME = "concord_bench_ingest"
BATCH = 1000
DUPS = 100  # per batch: 10%
CUSTOMERS = 50
MODELS = ("gpt-large", "gpt-small", "embed")


def _settings() -> dict:
    return {
        "events": int(os.environ.get("BENCH_EVENTS", "200000")),
        "clients": int(os.environ.get("BENCH_CLIENTS", "4")),
        "gunicorn": os.environ.get("BENCH_GUNICORN", "--workers 3 --worker-class sync"),
        "rounds": max(1, int(os.environ.get("BENCH_ROUNDS", "3"))),
    }


# --- the workload (deterministic) -------------------------------------------------------------------


def _event(b: int, i: int, base: datetime) -> dict:
    n = b * BATCH + i
    return {
        "transaction_id": f"bench-{b}-{i}",
        "customer": f"bench-cus-{n % CUSTOMERS}",
        "code": "llm_tokens",
        "timestamp": (base - timedelta(seconds=n % 86_400)).isoformat(),
        "properties": {
            "tokens": (n * 7) % 5000 + 1,
            "model": MODELS[n % 3],
            "token_type": ("input", "output")[n % 2],
        },
    }


def batch_events(b: int, base: datetime) -> list[dict]:
    """1,000 events: 900 new ones, then 100 repeats (of the previous batch; of itself for batch 0)."""
    fresh = [_event(b, i, base) for i in range(BATCH - DUPS)]
    repeats = fresh[:DUPS] if b == 0 else [_event(b - 1, i, base) for i in range(DUPS)]
    return fresh + repeats


def unique_count(total: int) -> int:
    return (total // BATCH) * (BATCH - DUPS)


# --- database plumbing ------------------------------------------------------------------------------


def _reset_tables(url: str) -> None:
    import psycopg

    tables = "billing_usageevent, billing_eventkey, billing_quarantinedevent, billing_ingestionbatch"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables}")
        # Start every phase from the same quiet state: fresh statistics (so autovacuum is not still
        # busy with the previous phase's rows), a checkpoint, and no autovacuum worker running.
        conn.execute(f"VACUUM (ANALYZE) {tables}")
        conn.execute("CHECKPOINT")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ).fetchone()[0]
            if not busy:
                break
            time.sleep(0.5)


def _counts(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT count(*) FROM billing_usageevent").fetchone()[0]
        keys = conn.execute("SELECT count(*) FROM billing_eventkey").fetchone()[0]
    return events, keys


# --- phases -------------------------------------------------------------------------------------------


def phase_copy(url: str, total: int, base: datetime) -> float:
    """Raw COPY of the unique rows (what the service ends up storing), 1,000 rows a transaction."""
    import psycopg

    # autocommit: each ``conn.transaction()`` below is a real BEGIN … COMMIT (with the deferred
    # foreign-key checks and the WAL flush inside the measurement), not a savepoint of one long one.
    with psycopg.connect(url, autocommit=True) as conn:
        customers = dict(conn.execute("SELECT external_id, id FROM contracts_customer").fetchall())
        meter_id = conn.execute("SELECT id FROM billing_meter WHERE code = 'llm_tokens'").fetchone()[0]
        batches = []
        for b in range(total // BATCH):
            rows = []
            for e in batch_events(b, base)[: BATCH - DUPS]:
                rows.append(
                    (
                        e["transaction_id"],
                        customers[e["customer"]],
                        meter_id,
                        datetime.fromisoformat(e["timestamp"]),
                        None,
                        json.dumps(e["properties"], separators=(",", ":")),
                        Decimal(e["properties"]["tokens"]),
                        None,
                    )
                )
            batches.append(rows)
        sql = (
            'COPY billing_usageevent (transaction_id, customer_id, meter_id, "timestamp", received_at, '
            "properties, value, dim) FROM STDIN"
        )
        started = time.perf_counter()
        for rows in batches:
            now = datetime.now(UTC)
            with conn.transaction(), conn.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row((*row[:4], now, *row[5:]))
        return time.perf_counter() - started


def phase_service(url: str, total: int, base: datetime) -> dict:
    out = subprocess.run(
        [PY, "-m", "bench.ingest", "service", str(total), base.isoformat()],
        cwd=ROOT,
        env=django_env(url),  # no broker: ingestion never touches it
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"service phase failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _service_main(total: int, base: datetime) -> None:
    import django

    django.setup()
    from billing.usage.ingest import ingest_events

    batches = [json.loads(json.dumps(batch_events(b, base))) for b in range(total // BATCH)]
    accepted = duplicates = rejected = 0
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    for events in batches:
        result = ingest_events(events=events, source="api", user=None)
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += len(result.rejected)
    seconds = time.perf_counter() - started
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    print(
        json.dumps({"seconds": seconds, "accepted": accepted, "duplicates": duplicates, "rejected": rejected})
    )


def _client(port: int, token: str, numbers: list[int], base: datetime, barrier, results) -> None:
    import http.client

    bodies = [json.dumps({"events": batch_events(b, base)}).encode() for b in numbers]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    barrier.wait()
    started = time.perf_counter()
    accepted = duplicates = errors = 0
    for body in bodies:
        for _attempt in range(3):
            try:
                conn.request("POST", "/api/v1/events", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        else:
            errors += 1
            continue
        if response.status != 200:
            errors += 1
            continue
        data = json.loads(payload)
        accepted += data["accepted"]
        duplicates += data["duplicates"]
    results.put((started, time.perf_counter(), accepted, duplicates, errors))


def phase_http(url: str, total: int, base: datetime, clients: int, gunicorn_args: str) -> dict:
    token = manage(url, "create_api_token", "bench-pipeline", "--role", "finance").strip().splitlines()[-1]
    # gunicorn on a free 127.0.0.1 port, every worker warmed (imports, first DB connection) first.
    with gunicorn(url, gunicorn_args) as port:
        ctx = multiprocessing.get_context("fork")
        barrier, results = ctx.Barrier(clients + 1), ctx.Queue()
        numbers = list(range(total // BATCH))
        procs = [
            ctx.Process(target=_client, args=(port, token, numbers[k::clients], base, barrier, results))
            for k in range(clients)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        rows = [results.get(timeout=1800) for _ in procs]
        for p in procs:
            p.join()
    seconds = max(r[1] for r in rows) - min(r[0] for r in rows)
    return {
        "seconds": seconds,
        "accepted": sum(r[2] for r in rows),
        "duplicates": sum(r[3] for r in rows),
        "errors": sum(r[4] for r in rows),
    }


# --- the run ------------------------------------------------------------------------------------------


def run() -> str | None:
    url = server_url("ingest")  # partitions, COPY, ON CONFLICT: PostgreSQL only
    if url is None:
        return None
    cfg = _settings()
    total = cfg["events"] - cfg["events"] % BATCH
    unique = unique_count(total)
    bench_url = create_db(url, DB_NAME)
    try:
        print("migrating the scratch database…", flush=True)
        manage(bench_url, "migrate", "--noinput")
        subprocess.run(
            [PY, "-m", "bench.ingest", "seed"],
            cwd=ROOT,
            env=django_env(bench_url),
            check=True,
            capture_output=True,
        )
        import psycopg

        with psycopg.connect(bench_url) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        load_before = os.getloadavg()[0]
        copies, services, https = [], [], []
        for round_no in range(1, cfg["rounds"] + 1):
            _reset_tables(bench_url)
            print(f"round {round_no}/{cfg['rounds']}: raw COPY…", flush=True)
            copies.append(phase_copy(bench_url, total, base))
            assert _counts(bench_url)[0] == unique

            _reset_tables(bench_url)
            print(f"round {round_no}/{cfg['rounds']}: service…", flush=True)
            service = phase_service(bench_url, total, base)
            assert _counts(bench_url) == (unique, unique), _counts(bench_url)
            assert service["accepted"] == unique and service["duplicates"] == total - unique, service
            services.append(service["seconds"])

            _reset_tables(bench_url)
            print(f"round {round_no}/{cfg['rounds']}: HTTP…", flush=True)
            http = phase_http(bench_url, total, base, cfg["clients"], cfg["gunicorn"])
            stored = _counts(bench_url)
            assert http["errors"] == 0, http
            assert stored == (unique, unique), stored
            assert http["accepted"] == unique and http["duplicates"] == total - unique, http
            https.append(http["seconds"])
        load_after = os.getloadavg()[0]
    finally:
        drop_db(url, DB_NAME)

    def rate(n: int, s: float) -> str:
        return f"{n / s:,.0f}"

    copy_s, service_s, http_s = min(copies), min(services), min(https)
    ratio = copy_s / service_s
    http_rate = total / http_s

    def spread(values: list[float]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    lines = [
        "## Usage ingestion (`bench/ingest.py`)",
        "",
        f"`DATABASE_URL=postgres://… python -m bench ingest` · PostgreSQL {pg_version} on the same machine · "
        f"{total:,} events in {BATCH:,}-event batches, 10% duplicates ({unique:,} unique), "
        f"{CUSTOMERS} customers, one `sum` meter. {cfg['rounds']} rounds of the three phases, each phase "
        "from empty tables (truncate, vacuum, checkpoint); the table shows each phase's best round.",
        "",
        "| Path | Work | Seconds (best) | Events/s posted | Unique rows stored/s | vs raw COPY | All rounds (s) |",
        "|---|---|---:|---:|---:|---:|---|",
        f"| Raw `COPY` into `billing_usageevent` (baseline; 1,000 rows a transaction) | {unique:,} rows | "
        f"{copy_s:.2f} | – | {rate(unique, copy_s)} | 100% | {spread(copies)} |",
        f"| Service `ingest_events` (1 process: validation, key table, COPY, batch log) | {total:,} events | "
        f"{service_s:.2f} | {rate(total, service_s)} | {rate(unique, service_s)} | {ratio:.0%} | {spread(services)} |",
        f"| HTTP `POST /api/v1/events` (gunicorn `{cfg['gunicorn']}`, {cfg['clients']} client processes) | "
        f"{total:,} events | {http_s:.2f} | {rate(total, http_s)} | {rate(unique, http_s)} | "
        f"{copy_s / http_s:.0%} | {spread(https)} |",
        "",
        f"- Service vs raw COPY (time to get the same {unique:,} rows stored): **{ratio:.0%}** "
        f"(target ≥ 50%: {'met' if ratio >= 0.5 else 'missed'}).",
        f"- HTTP: **{http_rate:,.0f} events/s** (target ≥ 10,000: {'met' if http_rate >= 10_000 else 'missed'}); "
        "clients, gunicorn and PostgreSQL share the same CPUs.",
        f"- Load average (1 min) {load_before:.1f} before, {load_after:.1f} after: other work on the machine "
        "adds noise, hence the best of several rounds.",
        f"- Checked after every phase: {unique:,} events and {unique:,} keys stored, every duplicate reported "
        "as such, no errors.",
    ]
    return "\n".join(lines)


def _seed_main() -> None:
    import django

    django.setup()
    from billing.models import Meter
    from revops.parties.models import Customer

    Meter.objects.get_or_create(
        code="llm_tokens",
        defaults={
            "name": "LLM tokens",
            "aggregation": "sum",
            "field": "tokens",
            "group_by": ["model", "token_type"],
        },
    )
    for n in range(CUSTOMERS):
        Customer.objects.get_or_create(
            external_id=f"bench-cus-{n}", defaults={"name": f"Bench {n}", "currency": "USD"}
        )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "seed":
        _seed_main()
    elif command == "service":
        _service_main(int(sys.argv[2]), datetime.fromisoformat(sys.argv[3]))
    else:
        print("usage: python -m bench ingest   (this module's own commands are internal: seed, service)")
        sys.exit(2)
