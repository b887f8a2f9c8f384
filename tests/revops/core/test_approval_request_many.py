"""approval_request_many: the approval engine's bulk request (issue 15 §3, schedules for bulk
activations) opens the same requests — content, content hash, summary, payload, requester — and writes
the same ``approval.requested`` events, in order, as one approval_request per object; a pending request
is returned unchanged; maker-checker holds for each request."""

import pytest
from django.db import transaction

from revops.core.approvals import registry
from revops.core.approvals.models import Approval
from revops.core.approvals.services import (
    SelfApproval,
    approval_decide,
    approval_request,
    approval_request_many,
)
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.audit.verify import audit_verify_chain
from revops.errors import ValidationFailed
from revops.parties.models import Customer
from revops.parties.services.customers import customer_create

pytestmark = pytest.mark.django_db

KIND = "test_bulk_kind"


@pytest.fixture
def kind(monkeypatch):
    """A kind bound to its object's state (content), with and without a bulk reader (content_many)."""
    handlers = dict(registry._HANDLERS)
    monkeypatch.setattr(registry, "_HANDLERS", handlers)
    reads = {"one": 0, "many": 0}

    def content(approval):
        reads["one"] += 1
        customer = Customer.objects.get(pk=approval.object_id)
        return {"name": customer.name, "currency": customer.currency}

    def content_many(approvals):
        reads["many"] += 1
        by_pk = {str(c.pk): c for c in Customer.objects.filter(pk__in=[a.object_id for a in approvals])}
        return [{"name": by_pk[a.object_id].name, "currency": by_pk[a.object_id].currency} for a in approvals]

    def register(*, bulk: bool):
        registry.register_approval_kind(
            KIND,
            on_approved=lambda approval, user: None,
            content=content,
            content_many=content_many if bulk else None,
        )

    register(bulk=True)
    return register, reads


def _customers(n: int) -> list[Customer]:
    return [customer_create(external_id=f"bulk-{i}", name=f"Bulk {i}", currency="USD") for i in range(n)]


def _requests(customers):
    return [{"obj": c, "summary": f"Check {c.name}", "payload": {"n": i}} for i, c in enumerate(customers)]


def _rows(seq: int) -> tuple[list, list]:
    approvals = list(
        Approval.objects.filter(kind=KIND)
        .order_by("pk")
        .values(
            "pk",
            "object_id",
            "summary",
            "payload",
            "requested_by",
            "content",
            "content_hash",
            "status",
            "supersedes",
        )
    )
    events = list(
        AuditEvent.objects.filter(seq__gt=seq)
        .order_by("seq")
        .values("seq", "action", "object_type", "object_id", "actor", "actor_label", "changes")
    )
    # PostgreSQL's sequences do not rewind with the rollback (SQLite's AUTOINCREMENT does): name each
    # approval by its position, and the events' references to it likewise, so both databases compare.
    names = {str(row.pop("pk")): f"approval#{i}" for i, row in enumerate(approvals)}
    for event in events:
        event.pop("seq")
        if event["object_type"].endswith("approval") and event["object_id"] in names:
            event["object_id"] = names[event["object_id"]]
    return approvals, events


@pytest.mark.parametrize("bulk", [True, False])
def test_the_same_requests_and_events_as_one_request_per_object(kind, make_user, bulk):
    register, reads = kind
    register(bulk=bulk)
    maker = make_user("maker", "finance")
    customers = _customers(4)
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    with transaction.atomic():
        for request in _requests(customers):
            approval_request(kind=KIND, requested_by=maker, **request)
        one = _rows(seq)
        transaction.set_rollback(True)
    reads["one"] = reads["many"] = 0
    with transaction.atomic():
        made = approval_request_many(kind=KIND, requests=_requests(customers), requested_by=maker)
        many = _rows(seq)
        transaction.set_rollback(True)
    assert [a.object_id for a in made] == [str(c.pk) for c in customers]
    assert len(one[0]) == 4 and len(one[1]) == 4
    assert one == many
    # With content_many the contents are read once for all of them; without, one by one.
    assert (reads["many"], reads["one"]) == ((1, 0) if bulk else (0, 4))


def test_a_pending_request_is_returned_unchanged_and_an_object_asked_twice_gets_one(kind, make_user):
    maker = make_user("maker", "finance")
    first, second = _customers(2)
    pending = approval_request(kind=KIND, obj=first, summary="Already asked", requested_by=maker)
    events = AuditEvent.objects.filter(action=AuditAction.APPROVAL_REQUESTED).count()
    with transaction.atomic():
        out = approval_request_many(
            kind=KIND,
            requested_by=maker,
            requests=[
                {"obj": first, "summary": "Asked again"},
                {"obj": second, "summary": "New"},
                {"obj": second, "summary": "New, twice"},
            ],
        )
    assert out[0] == pending and out[0].summary == "Already asked"
    assert out[1].pk == out[2].pk and out[1].summary == "New"
    assert Approval.objects.filter(kind=KIND, status="pending").count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.APPROVAL_REQUESTED).count() == events + 1


def test_audit_records_before_each_request_are_written_in_order(kind):
    customers = _customers(2)
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    with transaction.atomic():
        approval_request_many(
            kind=KIND,
            requested_by="import",
            requests=[
                {
                    "obj": c,
                    "summary": c.name,
                    "audit_before": [
                        {
                            "actor": "import",
                            "action": AuditAction.CUSTOMER_UPDATED,
                            "obj": c,
                            "changes": {"n": i},
                        }
                    ],
                }
                for i, c in enumerate(customers)
            ],
        )
    actions = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("action", flat=True))
    assert actions == [AuditAction.CUSTOMER_UPDATED.value, AuditAction.APPROVAL_REQUESTED.value] * 2
    assert audit_verify_chain().valid


def test_maker_checker_holds_for_bulk_requests(kind, make_user):
    maker, checker = make_user("maker", "approver"), make_user("checker", "approver")
    with transaction.atomic():
        made = approval_request_many(kind=KIND, requests=_requests(_customers(2)), requested_by=maker)
    assert all(a.requested_by == maker for a in made)
    with pytest.raises(SelfApproval):
        approval_decide(approval=made[0], user=maker, approve=True)
    assert approval_decide(approval=made[0], user=checker, approve=True).status == "approved"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationFailed):
        approval_request_many(kind="no_such_kind", requests=[])
