"""Compliance pages of an empty install: each says plainly that there is nothing yet (a module of its
own, since test_ui.py's tests share one book)."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def login(make_user):
    def make(role: str) -> Client:
        client = Client()
        client.user = make_user(f"{role}-1", role)
        client.force_login(client.user)
        return client

    return make


def test_pages_have_clear_empty_states(login):
    client = login("finance")
    assert "No check has run yet" in text(client.get("/compliance/"))
    assert "No open exceptions" in text(client.get("/compliance/exceptions/"))
    assert "Nothing is waiting for a decision" in text(client.get("/approvals/"))
    assert "Pick a period to preview" in text(client.get("/compliance/evidence/"))
