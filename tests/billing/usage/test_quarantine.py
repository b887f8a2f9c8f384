"""The quarantine: rejected events are kept, listed, replayed exactly once after the fix, or discarded."""

from __future__ import annotations

import pytest

from billing.models import EventKey, IngestionBatch, QuarantinedEvent, UsageEvent
from billing.usage.ingest import ingest_events
from billing.usage.services import quarantine_replay_open
from revops.core.audit.models import AuditEvent
from tests.billing.usage.conftest import event
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def orphan(tokens_meter):
    """An event for a customer that does not exist yet."""
    ingest_events(events=[event("orphan-1", customer="newco", tokens=7)], source="api")
    return QuarantinedEvent.objects.get(transaction_id="orphan-1")


def replay(api, item):
    return api.post(f"/api/v1/events/quarantine/{item.pk}/replay", format="json")


def test_quarantine_is_listed_with_filters(api_for, orphan, customer):
    ingest_events(events=[event("bad-2", customer="acme", code="nope")], source="api")
    api = api_for("auditor")
    body = api.get("/api/v1/events/quarantine").json()
    assert {r["transaction_id"] for r in body["results"]} == {"orphan-1", "bad-2"}
    assert set(body) == {"results", "next", "previous"}
    row = next(r for r in body["results"] if r["transaction_id"] == "orphan-1")
    assert row["status"] == "open" and row["customer"] == "newco" and row["code"] == "llm_tokens"
    assert row["errors"] == [{"field": "customer", "message": "unknown customer 'newco'"}]
    assert row["payload"]["properties"]["tokens"] == 7
    only = api.get("/api/v1/events/quarantine?customer=newco&status=open").json()["results"]
    assert [r["transaction_id"] for r in only] == ["orphan-1"]
    assert api.get("/api/v1/events/quarantine?meter=nope").json()["results"][0]["transaction_id"] == "bad-2"
    assert api.get("/api/v1/events/quarantine?status=replayed").json()["results"] == []
    assert api.get("/api/v1/events/quarantine?status=bogus").status_code == 400


def test_replay_after_the_customer_exists_counts_it_exactly_once(api_for, orphan):
    api = api_for("finance")
    still_bad = replay(api, orphan)
    assert still_bad.status_code == 422
    assert still_bad["Content-Type"] == "application/problem+json"
    assert still_bad.json()["errors"] == [{"field": "customer", "message": "unknown customer 'newco'"}]
    assert UsageEvent.objects.count() == 0

    CustomerFactory(external_id="newco")
    response = replay(api, orphan)
    assert response.status_code == 200
    body = response.json()
    assert (body["result"], body["status"], body["outcome"]) == ("accepted", "replayed", "accepted")
    assert body["resolved_by"] == api.user.username and body["resolved_at"]
    stored = UsageEvent.objects.get(transaction_id="orphan-1")
    assert stored.value == 7
    assert stored.received_at == EventKey.objects.get(pk="orphan-1").received_at  # counted at replay time

    again = replay(api, orphan)  # replaying twice does nothing more
    assert again.status_code == 200 and again.json()["result"] == "already_replayed"
    assert UsageEvent.objects.count() == EventKey.objects.count() == 1
    audit = AuditEvent.objects.filter(action="usage.quarantine.replayed", object_id=str(orphan.pk))
    assert audit.count() == 1 and audit.get().changes["outcome"] == "accepted"
    batch = IngestionBatch.objects.filter(source="replay").get()
    assert (batch.accepted, batch.duplicates) == (1, 0)


def test_replay_of_an_event_counted_meanwhile_is_a_duplicate(api_for, orphan):
    CustomerFactory(external_id="newco")
    ingest_events(
        events=[event("orphan-1", customer="newco", tokens=7)], source="api"
    )  # the client resent it
    body = replay(api_for("finance"), orphan).json()
    assert (body["result"], body["outcome"]) == ("duplicate", "duplicate")
    assert UsageEvent.objects.filter(transaction_id="orphan-1").count() == 1


def test_discard_is_audited_and_keeps_the_payload(api_for, orphan):
    api = api_for("finance")
    assert api.post(f"/api/v1/events/quarantine/{orphan.pk}/discard", {}, format="json").status_code == 400
    response = api.post(
        f"/api/v1/events/quarantine/{orphan.pk}/discard", {"reason": "test traffic"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "discarded" and response.json()["note"] == "test traffic"
    orphan.refresh_from_db()
    assert orphan.payload["transaction_id"] == "orphan-1"
    audit = AuditEvent.objects.get(action="usage.quarantine.discarded", object_id=str(orphan.pk))
    assert audit.actor == api.user and audit.changes["reason"] == "test traffic"
    assert replay(api, orphan).status_code == 409  # a discarded event cannot be replayed
    again = api.post(f"/api/v1/events/quarantine/{orphan.pk}/discard", {"reason": "x"}, format="json")
    assert again.status_code == 409


def test_replay_needs_a_writer_role(api_for, orphan):
    assert replay(api_for("auditor"), orphan).status_code == 403
    assert api_for("finance").post("/api/v1/events/quarantine/999999/replay").status_code == 404


def test_bulk_replay_of_open_items_for_a_customer(api_for, tokens_meter):
    ingest_events(
        events=[event(f"n-{i}", customer="newco") for i in range(3)]
        + [event("n-0", customer="newco")]  # a repeat inside the batch: also quarantined
        + [event("other", customer="otherco")],
        source="api",
    )
    assert QuarantinedEvent.objects.filter(status="open").count() == 5
    CustomerFactory(external_id="newco")
    body = (
        api_for("finance")
        .post("/api/v1/events/quarantine/replay", {"customer": "newco"}, format="json")
        .json()
    )
    assert body == {"accepted": 3, "duplicates": 1, "still_invalid": 0}
    assert UsageEvent.objects.count() == 3
    assert QuarantinedEvent.objects.get(transaction_id="other").status == "open"
    assert AuditEvent.objects.filter(action="usage.quarantine.replayed").count() == 4


def test_bulk_replay_leaves_still_invalid_items_open_with_fresh_reasons(tokens_meter, make_user):
    ingest_events(events=[event("lost", customer="ghost")], source="api")
    summary = quarantine_replay_open(actor=make_user("fin", "finance"))
    assert summary.as_dict() == {"accepted": 0, "duplicates": 0, "still_invalid": 1}
    assert QuarantinedEvent.objects.get().status == "open"
