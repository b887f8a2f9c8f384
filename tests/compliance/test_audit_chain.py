"""The audit trail is append-only and hash-chained (issue 2 §6)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.audit.services import AuditOutsideTransaction, audit_record, audit_record_many
from revops.core.audit.verify import audit_verify_chain
from revops.errors import AppendOnlyError

pytestmark = pytest.mark.django_db


def _record(n: int = 3) -> list[AuditEvent]:
    with transaction.atomic():
        return [
            audit_record(
                actor="tester",
                action=AuditAction.INVOICE_FINALIZED,
                object_type="billing.invoice",
                object_id=i,
                changes={"total": "127.50", "n": i},
            )
            for i in range(n)
        ]


def test_events_link_to_the_previous_hash():
    events = _record(3)
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert [e.seq for e in events] == [events[0].seq, events[0].seq + 1, events[0].seq + 2]
    assert audit_verify_chain().valid


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    with pytest.raises(AuditOutsideTransaction):
        audit_record(actor="x", action=AuditAction.INVOICE_FINALIZED, object_type="a.b", object_id=1)


def test_an_action_must_be_a_member_of_the_typed_enumeration():
    """Actions are AuditAction members: a free string (even a valid action's value) is refused before
    anything is written, so a misspelt action fails where it is written."""
    with transaction.atomic():
        for free in ("invoice.finalised", "invoice.finalized"):
            with pytest.raises(TypeError, match="AuditAction"):
                audit_record(actor="x", action=free, object_type="billing.invoice", object_id=1)
    assert not AuditEvent.objects.exists()
    assert AuditAction("invoice.finalized") is AuditAction.INVOICE_FINALIZED  # values are the stored strings


def test_recording_many_at_once_chains_them_in_order_like_one_at_a_time():
    first = _record(1)[0]
    with transaction.atomic():
        events = audit_record_many(
            [
                {
                    "actor": "run",
                    "action": AuditAction.INVOICE_DRAFTED,
                    "object_type": "billing.invoice",
                    "object_id": i,
                    "changes": {"total": "10.00", "n": i},
                }
                for i in range(3)
            ]
        )
        assert audit_record_many([]) == []
    stored = list(AuditEvent.objects.filter(seq__gt=first.seq).order_by("seq"))
    assert [e.pk for e in stored] == [e.pk for e in events]
    assert [e.seq for e in stored] == [first.seq + 1, first.seq + 2, first.seq + 3]
    assert stored[0].prev_hash == first.hash
    assert all(b.prev_hash == a.hash for a, b in zip(stored, stored[1:], strict=False))
    assert [e.object_id for e in stored] == ["0", "1", "2"] and stored[2].changes == {
        "total": "10.00",
        "n": 2,
    }
    assert audit_verify_chain().valid
    after = _record(1)[0]  # the head moved past the batch
    assert after.seq == first.seq + 4 and after.prev_hash == stored[-1].hash
    assert audit_verify_chain().valid


def test_orm_cannot_edit_or_delete_an_event():
    event = _record(1)[0]
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_sql_update_breaks_the_chain_and_names_the_row(capsys):
    events = _record(4)
    victim = events[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE compliance_auditevent SET changes = %s WHERE id = %s", ['{"total": "1.00"}', victim.pk]
        )
    result = audit_verify_chain()
    assert not result.valid
    assert result.first_bad == victim.pk
    with pytest.raises(CommandError, match=f"id={victim.pk}"):
        call_command("verify_audit_chain")


def test_sql_delete_in_the_middle_breaks_the_chain():
    events = _record(4)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE id = %s", [events[1].pk])
    result = audit_verify_chain()
    assert not result.valid and result.first_bad == events[2].pk


def test_deleting_the_newest_events_is_detected_by_the_chain_head():
    events = _record(3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE id = %s", [events[-1].pk])
    result = audit_verify_chain()
    assert not result.valid and "newest" in result.reason


def test_recomputed_hash_over_forged_hash_still_fails():
    """Rewriting a row *and* its own (unkeyed) hash: without the key the row itself no longer verifies."""
    events = _record(3)
    from revops.core.audit.chain import event_hash

    forged_changes = {"total": "0.00"}
    victim = events[1]
    forged = event_hash(
        seq=victim.seq,
        occurred_at=victim.occurred_at,
        actor_label=victim.actor_label,
        action=victim.action,
        object_type=victim.object_type,
        object_id=victim.object_id,
        changes=forged_changes,
        prev_hash=victim.prev_hash,
    )
    AuditEvent.objects.filter(pk=victim.pk).update(changes=forged_changes, hash=forged)
    result = audit_verify_chain()
    assert not result.valid and result.first_bad == victim.pk and "HMAC" in result.reason


def test_verify_command_passes_on_an_intact_chain(capsys):
    _record(2)
    call_command("verify_audit_chain")
    assert "valid" in capsys.readouterr().out


def test_verify_endpoint(api_for):
    _record(2)
    api = api_for("auditor")
    body = api.get("/api/v1/audit-events/verify").json()
    assert body["valid"] is True and body["checked"] >= 2
    AuditEvent.objects.filter(pk=AuditEvent.objects.order_by("seq").first().pk).update(action="tampered")
    body = api.get("/api/v1/audit-events/verify").json()
    assert body["valid"] is False and body["first_bad"] == AuditEvent.objects.order_by("seq").first().pk


def test_audit_events_filter_by_object(api_for):
    _record(3)
    body = api_for("auditor").get("/api/v1/audit-events?object_type=billing.invoice&object_id=1").json()
    assert [e["object_id"] for e in body["results"]] == ["1"]
