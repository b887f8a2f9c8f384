"""A bounded loopback load test (issue 8 §4): usage ingestion, the invoice list and the dashboard, each
for a fixed time against gunicorn on 127.0.0.1 and a PostgreSQL database with the demo data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord_bench .venv/bin/python -m bench load

Set-up (not measured): a scratch database ``concord_bench_load``, migrated and filled by ``manage.py
seed_demo`` (invoice PDFs go to a temporary MEDIA_ROOT, not the project's var/); an API token for the
demo ``finance`` user (``create_api_token``) and a signed-in session for the same user (the session
cookie a browser would hold after logging in); gunicorn ``--workers 3 --worker-class sync`` on a free
port of 127.0.0.1, each worker warmed up.

Scenarios, one after the other, each for ``BENCH_LOAD_SECONDS`` (30) or ``BENCH_LOAD_MAX_REQUESTS``
(20,000) requests, whichever comes first, driven by ``BENCH_LOAD_CLIENTS`` (4) client processes of our
own (``http.client``, one connection each, reopened when the server closes it), each sending its next
request as soon as the previous answer is read (closed loop, no think time):

1. ``POST /api/v1/events`` with 100 new events (bearer token), against the demo customers and meter;
2. ``GET /api/v1/invoices?page_size=50`` (bearer token);
3. ``GET /`` — the dashboard page, signed in (session cookie).

Every request is timed from sending to the last byte of the answer; an error is anything but the
expected status (200) or a connection failure. Reported per scenario: requests, requests/s, p50/p95/p99
and max latency, errors; for ingestion the events accepted are counted in the database too.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bench._common import (
    child,
    create_db,
    drop_db,
    emit,
    gunicorn,
    load_average,
    manage,
    pg_version,
    server_url,
    settle,
)

DB = "concord_bench_load"
GUNICORN = "--workers 3 --worker-class sync"
BATCH = 100


def _settings() -> dict:
    return {
        "seconds": int(os.environ.get("BENCH_LOAD_SECONDS", "30")),
        "max_requests": int(os.environ.get("BENCH_LOAD_MAX_REQUESTS", "20000")),
        "clients": int(os.environ.get("BENCH_LOAD_CLIENTS", "4")),
    }


# --- set-up (a Django child process) -------------------------------------------------------------------


def _session_main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from billing.models import Meter
    from revops.parties.models import Customer

    user = get_user_model().objects.get(username="finance")
    client = Client()
    client.force_login(user)
    meter = Meter.objects.filter(aggregation="sum").exclude(field="").order_by("code").first()
    emit(
        {
            "cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
            "customers": list(Customer.objects.order_by("external_id").values_list("external_id", flat=True)),
            "meter": meter.code,
            "field": meter.field,
            "group_by": list(meter.group_by or []),
        }
    )


# --- the load generator ------------------------------------------------------------------------------------


def _events(client: int, n: int, ctx: dict, base: datetime) -> bytes:
    events = []
    for i in range(BATCH):
        k = n * BATCH + i
        props = {ctx["field"]: (k * 7) % 5000 + 1}
        for j, prop in enumerate(ctx["group_by"]):
            props[prop] = f"v{(k + j) % 3}"
        events.append(
            {
                "transaction_id": f"load-{client}-{n}-{i}",
                "customer": ctx["customers"][k % len(ctx["customers"])],
                "code": ctx["meter"],
                "timestamp": (base - timedelta(seconds=k % 3600)).isoformat(),
                "properties": props,
            }
        )
    return json.dumps({"events": events}).encode()


def _client(index: int, port: int, scenario: str, ctx: dict, deadline_in: float, quota: int, barrier, out):
    import http.client

    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    if scenario == "ingest":
        method, path, expect = "POST", "/api/v1/events", 200
        headers = {"Authorization": f"Bearer {ctx['token']}", "Content-Type": "application/json"}
    elif scenario == "invoices":
        method, path, expect = "GET", "/api/v1/invoices?page_size=50", 200
        headers = {"Authorization": f"Bearer {ctx['token']}"}
    else:
        method, path, expect = "GET", "/", 200
        headers = {"Cookie": ctx["cookie"]}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    errors: list[str] = []
    accepted = 0
    barrier.wait()
    deadline = time.monotonic() + deadline_in
    n = 0
    while time.monotonic() < deadline and n < quota:
        body = _events(index, n, ctx, base) if scenario == "ingest" else None
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            if response.status != expect:
                errors.append(f"{response.status} {payload[:200]!r}")
            elif scenario == "ingest":
                accepted += json.loads(payload)["accepted"]
            latencies.append(elapsed)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n += 1
    out.put({"latencies": latencies, "errors": errors, "accepted": accepted, "sent": n})


def _scenario(port: int, scenario: str, ctx: dict, cfg: dict) -> dict:
    mp = multiprocessing.get_context("fork")
    clients = cfg["clients"]
    barrier, out = mp.Barrier(clients + 1), mp.Queue()
    quota = -(-cfg["max_requests"] // clients)
    procs = [
        mp.Process(target=_client, args=(i, port, scenario, ctx, cfg["seconds"], quota, barrier, out))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    rows = [out.get(timeout=cfg["seconds"] + 300) for _ in procs]
    seconds = time.perf_counter() - started
    for p in procs:
        p.join()
    latencies = sorted(x for r in rows for x in r["latencies"])
    errors = [e for r in rows for e in r["errors"]]

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "scenario": scenario,
        "seconds": seconds,
        "requests": sum(r["sent"] for r in rows),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000 if latencies else 0.0,
        "accepted": sum(r["accepted"] for r in rows),
    }


# --- the benchmark ------------------------------------------------------------------------------------


def run() -> str | None:
    url = server_url("load")
    if url is None:
        return None
    cfg = _settings()
    load_before = load_average()
    db_url = create_db(url, DB)
    media = tempfile.mkdtemp(prefix="concord-bench-media-")
    try:
        print("migrating and seeding the demo data…", flush=True)
        manage(db_url, "migrate", "--noinput")
        started = time.perf_counter()
        manage(db_url, "seed_demo", "--quiet", MEDIA_ROOT=media)
        seed_seconds = time.perf_counter() - started
        token = manage(db_url, "create_api_token", "finance", "--role", "finance").strip().splitlines()[-1]
        ctx = child("bench.load", "session", url=db_url, MEDIA_ROOT=media)
        ctx["token"] = token
        settle(db_url)
        pg = pg_version(db_url)
        import psycopg

        with psycopg.connect(db_url) as conn:
            counts = {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                for table in (
                    "contracts_customer",
                    "billing_invoice",
                    "billing_usageevent",
                    "revrec_journalentry",
                )
            }
        results = []
        with gunicorn(db_url, GUNICORN, log_path="/tmp/concord-bench-load-gunicorn.log") as port:
            for scenario in ("ingest", "invoices", "dashboard"):
                print(f"scenario {scenario}: {cfg['seconds']:.0f} s…", flush=True)
                results.append(_scenario(port, scenario, ctx, cfg))
                print(f"  {results[-1]}", flush=True)
        with psycopg.connect(db_url) as conn:
            stored = conn.execute("SELECT count(*) FROM billing_usageevent").fetchone()[0]
    finally:
        drop_db(url, DB)
        shutil.rmtree(media, ignore_errors=True)
    load_after = load_average()
    ingest = results[0]
    for r in results:
        assert r["errors"] == 0, r
    assert ingest["accepted"] == ingest["requests"] * BATCH, ingest
    assert stored - counts["billing_usageevent"] == ingest["accepted"], (stored, counts, ingest)

    labels = {
        "ingest": f"`POST /api/v1/events`, {BATCH} new events a request (token)",
        "invoices": "`GET /api/v1/invoices?page_size=50` (token)",
        "dashboard": "`GET /` dashboard page, signed in (session)",
    }
    table = [
        "| Scenario | Requests | Seconds | Requests/s | p50 ms | p95 ms | p99 ms | max ms | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        table.append(
            f"| {labels[r['scenario']]} | {r['requests']:,} | {r['seconds']:.1f} | "
            f"{r['requests'] / r['seconds']:,.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
            f"{r['max']:.1f} | {r['errors']} |"
        )
    lines = [
        "## Load: ingestion, invoice list, dashboard (`bench/load.py`)",
        "",
        f"`DATABASE_URL=postgres://… python -m bench load` · PostgreSQL {pg} on the same machine · gunicorn "
        f"`{GUNICORN}` on 127.0.0.1 · demo data from `seed_demo` ({counts['contracts_customer']} customers, "
        f"{counts['billing_invoice']} invoices, {counts['billing_usageevent']:,} usage events, "
        f"{counts['revrec_journalentry']} journal entries; seeded in {seed_seconds:.0f} s, not measured) · "
        f"each scenario for {cfg['seconds']:.0f} s or {cfg['max_requests']:,} requests, {cfg['clients']} "
        "client processes in a closed loop (each sends its next request when the previous answer is in).",
        "",
        *table,
        "",
        f"- Ingestion: {ingest['accepted']:,} events accepted, "
        f"{ingest['accepted'] / ingest['seconds']:,.0f} events/s, all of them found in the database "
        "afterwards.",
        "- Errors: any status but 200 (a signed-out dashboard would be a 302 to the login page) or a "
        "connection failure; **0** in every scenario (the run stops with an assertion otherwise).",
        "- Latency is measured by the clients: from sending the request to reading the last byte. Clients, "
        "gunicorn and PostgreSQL share the machine's CPUs, so these are lower bounds on throughput for the "
        "same hardware with a separate load generator.",
        f"- Load average (1 min) {load_before:.1f} before, {load_after:.1f} after.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "session":
        _session_main()
    else:
        print("usage: python -m bench load   (internal command: session)")
        sys.exit(2)
