"""Start real Celery worker processes against the test database (PostgreSQL) and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{s['NAME']}"


class Workers:
    def __init__(self, queue: str, broker_url: str | None = None):
        self.queue = queue
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "revops.settings.base",
                "DATABASE_URL": database_url(),
                "REDIS_URL": self.broker_url,
                "CELERY_BROKER_URL": self.broker_url,
                "CELERY_QUEUE": self.queue,
                "DB_CONN_MAX_AGE": "0",
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",  # as in the test settings: receivers on 127.0.0.1
                # Workers chain audit events under the same key as the test process that verifies them.
                "AUDIT_CHAIN_KEY": settings.AUDIT_CHAIN_KEY,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start(self, count: int = 1, concurrency: int = 1) -> None:
        for _ in range(count):
            log = Path(f"/tmp/concord-worker-{self.queue}-{len(self.procs)}.log")
            handle = open(log, "w")  # noqa: SIM115
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "revops",
                    "worker",
                    "-Q",
                    self.queue,
                    "--pool=prefork",
                    f"--concurrency={concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"w{len(self.procs)}-{self.queue}@%h",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env=self.env(),
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.procs.append(proc)
            self.logs.append(log)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for log in self.logs:
            while "ready." not in log.read_text():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)

    def kill(self, index: int = 0, sig: int = signal.SIGKILL) -> None:
        """SIGKILL the whole process group (main process and its pool children): a lost worker."""
        proc = self.procs[index]
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)

    def output(self) -> str:
        return "\n".join(log.read_text()[-4000:] for log in self.logs)


@contextmanager
def real_workers(count: int = 1, concurrency: int = 1, broker_url: str | None = None, *, start: bool = True):
    """Run ``count`` worker processes on a private queue (and its documents queue, which every worker
    consumes after it: revops/celery.py); the test process sends real tasks to them. ``start=False``
    leaves starting them (``workers.start(count, concurrency)``) to the test, which can queue tasks first."""
    from revops.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    workers = Workers(queue, broker_url)
    old = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.broker_url = workers.broker_url
    _reset_pool(app)
    try:
        if start:
            workers.start(count, concurrency)
        yield workers
    finally:
        workers.stop()
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url = old
        _reset_pool(app)


def _reset_pool(app) -> None:
    """Drop cached broker connections so a changed broker_url takes effect in this process."""
    app._pool = None  # kombu keeps one pool per broker URL; a new lookup picks the right one
    app.amqp._producer_pool = None


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class PrivateRedis:
    """A redis-server of the test's own on a free port, so it can be stopped and started mid-test."""

    def __init__(self):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import shutil

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=20, message="private redis to start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False
