"""Where webhooks may go: public addresses only (no SSRF into the platform's own network).

A receiver URL is a customer-controlled address the workers will POST to, so it must not reach
loopback, private (RFC 1918, unique-local), link-local (cloud metadata at 169.254.169.254), carrier-grade
NAT, multicast, reserved or unspecified addresses. Two gates:

* when an endpoint is saved, a URL whose host is such an IP literal or a local name is refused with a
  field error (names are not resolved then: DNS may answer differently at delivery time);
* when a delivery connects, the address the socket actually connected to is checked before a byte is
  sent, which also defeats DNS rebinding (a public name that later resolves to 127.0.0.1).

``settings.WEBHOOK_ALLOW_PRIVATE_TARGETS`` (env ``WEBHOOK_ALLOW_PRIVATE_TARGETS=1``) lifts both gates for
development against a receiver on the same machine, and for the tests' loopback receivers."""

from __future__ import annotations

import http.client
import ipaddress
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 forms that carry an IPv4 address inside (a router or the host's stack may deliver them to it):
# IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, 6to4 2002:AABB:CCDD::/48, Teredo 2001::/32
# (client address obfuscated) and NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (RFC 6052, 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class BlockedAddress(OSError):
    """The receiver resolved to an address webhooks may not reach."""


def allowed_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in _NAT64) or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(low32)
    return found


def is_public_ip(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if any(not is_public_ip(str(inner)) for inner in embedded):
            return False  # e.g. 2002:7f00:1:: is 127.0.0.1 in 6to4 form
        if address.ipv4_mapped:
            address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be a webhook receiver (checked when an endpoint is saved), or None."""
    if allowed_private():
        return None
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        return f"'{host}' is a local name: webhooks go to public addresses only."
    try:
        public = is_public_ip(host)
    except ValueError:
        return None  # a DNS name: checked against the address it connects to at delivery time
    if not public:
        return f"{host} is a private, loopback or reserved address: webhooks go to public addresses only."
    return None


def _check_peer(sock) -> None:
    if allowed_private():
        return
    peer = sock.getpeername()[0]
    if not is_public_ip(peer):
        raise BlockedAddress(f"the receiver resolved to {peer}, a non-public address; nothing was sent")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        try:
            _check_peer(self.sock)
        except BlockedAddress:
            self.close()
            raise


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        # HTTPSConnection.connect opens the TCP socket, then wraps it in TLS; check before the handshake.
        http.client.HTTPConnection.connect(self)
        try:
            _check_peer(self.sock)
        except BlockedAddress:
            self.close()
            raise
        if self._tunnel_host:
            server_hostname = self._tunnel_host
        else:
            server_hostname = self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=server_hostname)


class GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_GuardedHTTPConnection, req)


class GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(
            _GuardedHTTPSConnection, req, context=self._context
        )  # hostname checked by the context
