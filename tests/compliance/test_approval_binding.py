"""Approvals bind to content (issue 12 §5): a request records the SHA-256 of exactly what approving it
applies; a change voids it and opens a new request; a decision on changed content is refused (409)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_content, content_hash
from revops.core.audit.models import AuditEvent
from revops.core.audit.verify import audit_verify_chain
from revrec.models import ContractModification, RevenueSchedule
from tests.revrec.test_modifications import running  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

KIND = "contract_modification"


def _amend(finance, contract) -> tuple[ContractModification, Approval]:
    response = finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-04-01", "changes": [{"line": "svc", "unit_price": "62.00"}]},
        format="json",
    )
    assert response.status_code < 300, response.content
    mod = ContractModification.objects.get(status="pending_approval")
    approval = Approval.objects.get(kind=KIND, status="pending")
    return mod, approval


def test_changing_the_treatment_via_the_api_voids_the_approval_of_the_old_one(running):  # noqa: F811
    """The attack: the approver saw "prospective" and approved; catch-up must not be what is applied."""
    finance, approver, contract = running
    mod, seen = _amend(finance, contract)
    assert mod.chosen_treatment == "prospective"
    assert seen.content["content"]["treatment"] == "prospective"
    assert seen.content_hash == content_hash(seen.content) and len(seen.content_hash) == 64

    # The approver's preview (API) shows what approving applies, and its hash.
    listed = {a["id"]: a for a in approver.get("/api/v1/approvals?status=pending").json()["results"]}
    assert listed[seen.pk]["content_hash"] == seen.content_hash
    assert listed[seen.pk]["content"]["content"]["treatment"] == "prospective"

    # Finance switches the pending modification to cumulative catch-up...
    response = finance.post(
        f"/api/v1/modifications/{mod.pk}/treatment", {"treatment": "cumulative_catch_up"}, format="json"
    )
    assert response.status_code == 200, response.content

    # ...and the approver approves the request they reviewed (prospective): refused, nothing applied.
    response = approver.post(f"/api/v1/approvals/{seen.pk}/approve", {"comment": "ok"}, format="json")
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    mod.refresh_from_db()
    assert mod.status == "pending_approval"
    assert not RevenueSchedule.objects.filter(treatment="cumulative_catch_up").exists()
    assert RevenueSchedule.objects.get(status="approved").amount == Decimal("372.00")

    # The old request was voided when the treatment changed, and a new one asks for the new content.
    seen.refresh_from_db()
    assert seen.status == "superseded" and seen.decided_by is None
    fresh = Approval.objects.get(kind=KIND, status="pending")
    assert fresh.supersedes_id == seen.pk and fresh.requested_by == finance.user
    assert fresh.content["content"]["treatment"] == "cumulative_catch_up"
    assert fresh.content_hash != seen.content_hash
    assert fresh.content_hash == content_hash(approval_content(fresh))
    assert AuditEvent.objects.filter(
        action="approval.superseded", object_type="compliance.approval", object_id=str(seen.pk)
    ).exists()

    # Approving the request for the new content applies it, with the hash on the decision's audit event.
    response = approver.post(f"/api/v1/approvals/{fresh.pk}/approve", {"comment": "catch-up"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["content_hash"] == fresh.content_hash
    assert RevenueSchedule.objects.get(status="approved").treatment == "cumulative_catch_up"
    decided = AuditEvent.objects.get(action="approval.approved", object_id=str(fresh.pk))
    assert decided.changes["content_hash"] == fresh.content_hash
    assert audit_verify_chain().valid


def test_a_change_behind_the_services_back_is_refused_at_decision_time(running):  # noqa: F811
    """A change no hook saw (admin, SQL): the decision recomputes the content, refuses with a clear
    409 problem, and the voiding and the new request persist although the decision did not."""
    finance, approver, contract = running
    mod, seen = _amend(finance, contract)
    ContractModification.objects.filter(pk=mod.pk).update(chosen_treatment="cumulative_catch_up")

    response = approver.post(f"/api/v1/approvals/{seen.pk}/approve", {"comment": "ok"}, format="json")
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/approval-content-changed")
    fresh = Approval.objects.get(kind=KIND, status="pending")
    assert problem["replacement"] == fresh.pk and problem["content_hash"] == fresh.content_hash
    assert f"#{fresh.pk}" in problem["detail"]
    seen.refresh_from_db()
    assert seen.status == "superseded" and f"#{fresh.pk}" in seen.comment
    mod.refresh_from_db()
    assert mod.status == "pending_approval"
    assert not RevenueSchedule.objects.filter(treatment="cumulative_catch_up").exists()
    # Rejecting stale content is refused the same way (the reviewer must see what they decide).
    ContractModification.objects.filter(pk=mod.pk).update(chosen_treatment="prospective")
    response = approver.post(f"/api/v1/approvals/{fresh.pk}/reject", {"comment": "no"}, format="json")
    assert response.status_code == 409
    assert ContractModification.objects.get(pk=mod.pk).status == "pending_approval"


def test_the_queue_shows_what_approving_applies_and_its_hash(running, ui_for):  # noqa: F811
    finance, _approver, contract = running
    mod, _seen = _amend(finance, contract)
    finance.post(
        f"/api/v1/modifications/{mod.pk}/treatment", {"treatment": "cumulative_catch_up"}, format="json"
    )
    fresh = Approval.objects.get(kind=KIND, status="pending")
    html = ui_for("approver", "checker-ui").get(reverse("approvals")).content.decode()
    assert "approving applies: Cumulative catch-up" in html
    assert f'data-content-hash="{fresh.content_hash}"' in html
    assert "&quot;treatment&quot;: &quot;cumulative_catch_up&quot;" in html
    assert 'class="cx-change-table"' in html and "cumulative_catch_up</td>" in html  # a table first
    assert f"Replaces request #{fresh.supersedes_id}" in html


def test_edited_schedule_lines_cannot_be_approved_by_the_earlier_request(running):  # noqa: F811
    """Revenue schedule: the handler approves the schedule's current lines, so they are bound too."""
    from revrec.models import PerformanceObligation, ScheduleLine
    from revrec.services.schedules import schedule_create

    _finance, approver, _contract = running
    sched = schedule_create(po=PerformanceObligation.objects.get(key="svc"), note="re-cut")
    request = Approval.objects.get(object_id=str(sched.pk), kind="revenue_schedule")
    line = ScheduleLine.objects.filter(schedule=sched).order_by("period").last()
    ScheduleLine.objects.filter(pk=line.pk).update(amount=line.amount + 1000)
    response = approver.post(f"/api/v1/schedules/{sched.pk}/approve", {"comment": "ok"}, format="json")
    assert response.status_code == 409
    sched.refresh_from_db()
    assert sched.status == "pending_approval"
    request.refresh_from_db()
    assert request.status == "superseded"
    assert Approval.objects.get(object_id=str(sched.pk), kind="revenue_schedule", status="pending")


def test_a_reopen_asked_again_for_another_reason_replaces_the_pending_request(running, make_user):  # noqa: F811
    from compliance.services.close import period_reopen_request

    maker = make_user("maker", "finance")
    first = period_reopen_request(key="2026-03", reason="late invoice", actor=maker)
    assert period_reopen_request(key="2026-03", reason="late invoice", actor=maker).pk == first.pk
    second = period_reopen_request(key="2026-03", reason="rebook everything", actor=maker)
    first.refresh_from_db()
    assert first.status == "superseded" and second.status == "pending"
    assert second.supersedes_id == first.pk and second.content["payload"] == {"reason": "rebook everything"}


def test_everyone_who_shaped_a_request_is_a_maker(running, make_user):  # noqa: F811
    """Whoever changed a request cannot approve the next version of it, and neither can the first requester."""
    from compliance.services.close import period_reopen_request
    from revops.core.approvals.services import SelfApproval, approval_decide

    first_maker, second_maker = make_user("maker-1", "approver"), make_user("maker-2", "approver")
    period_reopen_request(key="2026-03", reason="late invoice", actor=first_maker)
    second = period_reopen_request(key="2026-03", reason="another reason", actor=second_maker)
    for user in (first_maker, second_maker):
        with pytest.raises(SelfApproval):
            approval_decide(approval=second, user=user, approve=True)
    assert Approval.objects.get(pk=second.pk).status == "pending"


@pytest.mark.django_db
def test_a_waiver_is_bound_to_the_finding_it_waives(make_user):
    """A waiver approved for a finding that changed since would waive something nobody reviewed."""
    from compliance.models import CheckRun, ComplianceException
    from compliance.services.exceptions import exception_waive_request
    from revops.core.approvals.services import ContentChanged, approval_decide

    run = CheckRun.objects.create(trigger="test")
    exc = ComplianceException.objects.create(
        check_code="invoice_totals",
        severity="high",
        object_type="billing.invoice",
        object_id="1",
        explanation="off by 0.01",
        details={"difference": "0.01"},
        first_run=run,
        last_seen_run=run,
    )
    maker, checker = make_user("maker", "finance"), make_user("checker", "approver")
    request = exception_waive_request(exception=exc, comment="rounding", actor=maker)
    ComplianceException.objects.filter(pk=exc.pk).update(details={"difference": "9000.00"})
    with pytest.raises(ContentChanged) as refused:
        approval_decide(approval=request, user=checker, approve=True, comment="ok")
    assert ComplianceException.objects.get(pk=exc.pk).status == "open"
    fresh = refused.value.replacement
    assert fresh.content["content"]["details"] == {"difference": "9000.00"}
    approval_decide(approval=fresh, user=checker, approve=True, comment="seen")
    assert ComplianceException.objects.get(pk=exc.pk).status == "waived"


def test_the_queue_refuses_to_approve_changed_content_with_a_form_error(running, ui_for):  # noqa: F811
    """The same attack through the UI: the approver approves from /approvals/ after the treatment was
    changed behind the services' back — a 409 on the page naming the new request, nothing applied."""
    finance, _approver, contract = running
    mod, seen = _amend(finance, contract)
    ContractModification.objects.filter(pk=mod.pk).update(chosen_treatment="cumulative_catch_up")
    client = ui_for("approver", "checker-ui")
    response = client.post(reverse("approvals"), {"ids": [seen.pk], "action": "approve", "comment": "ok"})
    assert response.status_code == 409
    fresh = Approval.objects.get(kind=KIND, status="pending")
    page = response.content.decode()
    assert f"Review request #{fresh.pk}" in page and "voided" in page
    assert ContractModification.objects.get(pk=mod.pk).status == "pending_approval"
    assert not RevenueSchedule.objects.filter(treatment="cumulative_catch_up").exists()
