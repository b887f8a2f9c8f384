"""Webhook fixtures: endpoints, outbox events and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import factory
import pytest

from billing.models import WebhookEndpoint
from billing.models.webhooks import new_secret
from revops.core.models import OutboxEvent


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    description = ""
    secret = factory.LazyFunction(new_secret)
    event_types = factory.LazyFunction(list)
    active = True


class OutboxEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEvent

    topic = "invoice.finalized"
    object_type = "billing.invoice"
    object_id = factory.Sequence(str)
    payload = factory.LazyAttribute(
        lambda o: {
            "id": int(o.object_id),
            "number": f"INV-2026-{int(o.object_id):06d}",
            "total": "127.50",
            "currency": "USD",
        }
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server. ``responses`` is a queue of (status, headers); when empty it answers 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    responses: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def answer(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.responses.extend((s, headers or {}) for s in statuses)


@pytest.fixture
def receiver():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            recv: Receiver = state["receiver"]
            recv.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, extra = recv.responses.pop(0) if recv.responses else (200, {})
            payload = b'{"ok": true}' if status < 300 else b"receiver says no"
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/concord")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    """A URL nobody listens on (connection refused, at once)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/hooks"
