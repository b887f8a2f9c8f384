"""Webhooks reach public addresses only (no SSRF): a private, loopback, link-local or reserved receiver is
refused when the endpoint is saved, and a delivery whose connection lands on such an address (a DNS
name that resolves there) sends nothing. WEBHOOK_ALLOW_PRIVATE_TARGETS lifts the guard (development,
and the other webhook tests' loopback receivers)."""

from __future__ import annotations

import pytest

from billing.models import WebhookEndpoint
from billing.webhooks.delivery import post_webhook
from billing.webhooks.egress import is_public_ip, url_problem

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.billing.webhooks.urls")]


@pytest.fixture
def guarded(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "https://LOCALHOST./hooks",
        "http://api.localhost/hooks",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hooks",
        "http://172.16.0.9/hooks",
        "http://192.168.1.10/hooks",
        "http://100.64.0.1/hooks",
        "http://0.0.0.0/hooks",
        "http://[::1]/hooks",
        "http://[fd00::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://224.0.0.1/hooks",
    ],
)
def test_non_public_receivers_are_refused_when_saved(guarded, url):
    assert url_problem(url) and "public addresses only" in url_problem(url)


@pytest.mark.parametrize(
    "url", ["https://erp.example.com/hooks", "http://93.184.216.34/hooks", "https://[2606:4700::1111]/h"]
)
def test_public_receivers_pass(guarded, url):
    assert url_problem(url) is None


def test_is_public_ip():
    assert is_public_ip("8.8.8.8") and not is_public_ip("127.0.0.1") and not is_public_ip("::ffff:10.0.0.1")


def test_the_api_refuses_a_metadata_address_with_a_field_error(guarded, api_for):
    response = api_for("finance").post(
        "/api/v1/webhook-endpoints", {"url": "http://169.254.169.254/latest/meta-data/"}, format="json"
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["url"] and "public addresses only" in errors[0]["message"]
    assert not WebhookEndpoint.objects.exists()


def test_the_page_refuses_a_loopback_receiver_with_a_form_error(guarded, ui_for):
    client = ui_for("finance")
    response = client.post("/billing/webhooks/endpoints/", {"url": "http://127.0.0.1:9000/hook"})
    html = response.content.decode()
    assert "public addresses only" in html and 'aria-invalid="true"' in html
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_to_loopback_gets_nothing_at_delivery(guarded, receiver):
    """'localhost' passes no save-time check here (it is called directly), as a public DNS name that
    rebinds to 127.0.0.1 would: the connection's real peer address is checked before anything is sent."""
    port = receiver.url.split(":")[2].split("/")[0]
    result = post_webhook(
        f"http://localhost:{port}/hooks/concord", b"{}", {"content-type": "application/json"}
    )
    assert not result.ok and result.status_code is None
    assert "non-public address; nothing was sent" in result.error
    assert receiver.requests == []


def test_the_guard_can_be_lifted_for_local_development(settings, receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert url_problem(receiver.url) is None
    result = post_webhook(receiver.url, b"{}", {"content-type": "application/json"})
    assert result.ok and len(receiver.requests) == 1


# Issue 12 §10: IPv6 forms that embed a private IPv4 address (6to4, NAT64, IPv4-compatible, Teredo).
@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::]/hooks",  # 6to4 form of 127.0.0.1
        "http://[2002:7f00:0001::1]:8000/hooks",
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",  # 6to4 of 169.254.169.254
        "http://[2002:c0a8:0101::1]/hooks",  # 6to4 of 192.168.1.1
        "http://[64:ff9b::7f00:1]/hooks",  # NAT64 of 127.0.0.1
        "http://[64:ff9b:1::a00:1]/hooks",  # local-use NAT64 of 10.0.0.1
        "http://[::127.0.0.1]/hooks",  # IPv4-compatible
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hooks",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(guarded, url):
    assert url_problem(url) and "public addresses only" in url_problem(url)


def test_a_6to4_public_address_passes(guarded):
    assert url_problem("http://[2002:0808:0808::1]/hooks") is None  # 8.8.8.8 in 6to4 form


def test_the_api_refuses_the_6to4_form_of_loopback(guarded, api_for):
    response = api_for("finance").post(
        "/api/v1/webhook-endpoints", {"url": "http://[2002:7f00:1::]/hooks"}, format="json"
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["url"]
    assert not WebhookEndpoint.objects.exists()
