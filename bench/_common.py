"""Helpers shared by the benchmarks: scratch databases, child processes, gunicorn, formatting.

Every benchmark works in scratch databases of its own (``concord_bench_<name>…``) on the PostgreSQL
server named by DATABASE_URL; the database in DATABASE_URL itself is never touched. Databases are
created and dropped through the server's ``postgres`` maintenance database.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def server_url(bench: str) -> str | None:
    """DATABASE_URL when it names a PostgreSQL server; otherwise say why nothing runs and return None."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    print(
        f"bench {bench} measures PostgreSQL. Set DATABASE_URL to a PostgreSQL server, e.g. "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord_bench (only scratch databases named "
        "concord_bench_… are created and dropped); nothing was run."
    )
    return None


def db_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin(url: str, *statements: str) -> None:
    """Run statements on the server's maintenance database (CREATE / DROP DATABASE)."""
    import psycopg

    with psycopg.connect(db_url(url, "postgres"), autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


def create_db(url: str, name: str, *, template: str | None = None) -> str:
    admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(url, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return db_url(url, name)


def drop_db(url: str, name: str) -> None:
    if os.environ.get("BENCH_KEEP_DB") == "1":
        print(f"BENCH_KEEP_DB=1: keeping database {name}")
        return
    admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def django_env(url: str, **extra: str) -> dict:
    """Environment of a Django child process on ``url``: production-like settings, no broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "revops.settings.base",
            "DATABASE_URL": url,
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "API_RATE_LIMIT": "1000000/min",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra)
    return env


def manage(url: str, *args: str, **extra: str) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=django_env(url, **extra),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def child(module: str, *args: str, url: str, **extra: str) -> dict:
    """Run ``python -m <module> <args>`` as a Django child process on ``url``; its last stdout line
    is a JSON object, returned. Its other output is streamed through (progress messages)."""
    proc = subprocess.Popen(
        [PY, "-m", module, *args],
        cwd=ROOT,
        env=django_env(url, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if not line.startswith("{"):
            print(f"  {line.rstrip()}", flush=True)
    if proc.wait():
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{''.join(lines[-60:])}")
    return json.loads(lines[-1])


def emit(result: dict) -> None:
    """The last line a child process prints: its result for :func:`child`."""
    print(json.dumps(result, default=str), flush=True)


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def settle(url: str, tables: str | None = None) -> None:
    """Fresh statistics, a checkpoint, and no autovacuum worker running: the same quiet start
    for every measurement."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {tables}" if tables else "VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ).fetchone()[0]
            if not busy:
                break
            time.sleep(0.5)


def load_average() -> float:
    return os.getloadavg()[0]


def spread(values: list[float], digits: int = 2) -> str:
    return " / ".join(f"{v:.{digits}f}" for v in values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(url: str, args: str, *, log_path: str = "/tmp/concord-bench-gunicorn.log", warm: int = 12):
    """gunicorn serving revops.wsgi on a free 127.0.0.1 port; yields the port. Every worker is warmed
    (imports, first database connection) with ``warm`` requests to /healthz before the caller measures."""
    import http.client

    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "revops.wsgi", "--bind", f"127.0.0.1:{port}"]
        + args.split()
        + ["--log-level", "warning", "--keep-alive", "5"],
        cwd=ROOT,
        env=django_env(url),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start: {Path(log_path).read_text()[-2000:]}")
                time.sleep(0.2)
        for _ in range(warm):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/healthz")
            c.getresponse().read()
            c.close()
        yield port
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def clone_rows(cur, table: str, *, source: str, overrides: dict[str, str], where: str, params=()) -> int:
    """``INSERT INTO table (every column but id) SELECT … FROM table AS t <source> WHERE <where>``:
    copies rows of ``table`` (alias ``t``), each column taken as is unless ``overrides`` gives an SQL
    expression for it. ``source`` adds joins (``JOIN … ON …`` or ``CROSS JOIN generate_series(…) g(n)``).
    Reads the column list from the catalog, so a new column is copied without editing the benchmark."""
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
        "ORDER BY ordinal_position",
        [table],
    )
    columns = [row[0] for row in cur.fetchall()]
    unknown = set(overrides) - set(columns)
    if unknown:
        raise RuntimeError(f"{table} has no column(s) {sorted(unknown)}")
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    cur.execute(
        f"INSERT INTO {table} ({names}) SELECT {values} FROM {table} AS t {source} WHERE {where}", params
    )
    return cur.rowcount


def clone_contracts(cur, *, template_contract: int, count: int, prefix: str, width: int = 5) -> None:
    """Turn one contract made through the services (customer ``<prefix>-00001``) into ``count``:
    copies of its customer (``<prefix>-00002`` …), contract (``C-00002`` …), lines, versions,
    performance obligations and their line links, in a few ``INSERT … SELECT`` statements. What
    the copies do not get: audit events and outbox events of their own (the template has them).
    ``width`` digits number the customers and contracts (``lpad`` truncates: 6 for 100,000)."""
    cur.execute("SELECT customer_id FROM contracts_contract WHERE id = %s", [template_contract])
    template_customer = cur.fetchone()[0]
    clone_rows(
        cur,
        "contracts_customer",
        source="CROSS JOIN generate_series(2, %s) AS g(n)",
        overrides={
            "external_id": f"'{prefix}-' || lpad(g.n::text, {int(width)}, '0')",
            "name": "'Bench customer ' || g.n",
            "created_at": "now()",
        },
        where="t.id = %s",
        params=[count, template_customer],
    )
    clone_rows(
        cur,
        "contracts_contract",
        source="JOIN contracts_customer AS c ON c.external_id LIKE %s AND c.id <> t.customer_id",
        overrides={
            "customer_id": "c.id",
            "number": f"'C-' || right(c.external_id, {int(width)})",
            "created_at": "now()",
        },
        where="t.id = %s",
        params=[f"{prefix}-%", template_contract],
    )
    copies = (
        "JOIN contracts_contract AS k ON k.number LIKE 'C-%%' AND k.id <> %s "
        "JOIN contracts_customer AS c ON c.id = k.customer_id AND c.external_id LIKE %s"
    )
    for table in ("contracts_contractline", "contracts_contractversion", "revrec_performanceobligation"):
        clone_rows(
            cur,
            table,
            source=copies,
            overrides={"contract_id": "k.id"},
            where="t.contract_id = %s",
            params=[template_contract, f"{prefix}-%", template_contract],
        )
    cur.execute(
        "INSERT INTO revrec_performanceobligation_lines (performanceobligation_id, contractline_id) "
        "SELECT p.id, l.id FROM revrec_performanceobligation_lines AS tm "
        "JOIN revrec_performanceobligation AS tp ON tp.id = tm.performanceobligation_id "
        "JOIN contracts_contractline AS tl ON tl.id = tm.contractline_id "
        "JOIN revrec_performanceobligation AS p ON p.key = tp.key AND p.contract_id <> tp.contract_id "
        "JOIN contracts_contractline AS l ON l.contract_id = p.contract_id AND l.key = tl.key "
        "AND l.revision = tl.revision WHERE tp.contract_id = %s",
        [template_contract],
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # the fields after "pid (comm)"


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by one process; 0 when it is gone."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0


def session_cpu(session: int) -> float:
    """CPU seconds used so far by the live processes of a session (a worker started with
    ``start_new_session=True`` and its pool children)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[3]) == session:
                total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total
