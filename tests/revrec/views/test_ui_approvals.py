"""The approval queue page: maker-checker in the UI. The requester sees their own request as
"Awaiting another approver" with no approve control; a POST anyway gets the service's 409 as a form
error; another approver approves in bulk; rejecting needs a comment; non-approvers read only."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from revops.core.approvals.models import Approval
from revrec.models import PerformanceObligation, RevenueSchedule
from revrec.services.schedules import schedule_create
from tests.billing.factories import ContractFactory
from tests.revrec.reports_world import URLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def queue(catalog, make_user, django_capture_on_commit_callbacks):
    """Two initial schedules (requested by the system) and a new version of one of them requested by
    approver 'maker' — which voids that obligation's pending v1 (its lines are no longer proposed)."""
    with django_capture_on_commit_callbacks(execute=True):
        contract = ContractFactory(
            lines=[
                {"key": "svc", "product": "platform", "unit_price": "10.00"},
                {"key": "setup", "product": "onboarding", "amount": "500.00", "billing": "one_time"},
            ],
            start_date=date(2026, 1, 1),
            end_date=date(2026, 7, 1),
        )
    maker = make_user("maker", "approver")
    po = PerformanceObligation.objects.get(contract=contract, key="svc")
    own = schedule_create(po=po, actor=maker, note="re-cut")
    approval = Approval.objects.get(object_type="revrec.revenueschedule", object_id=str(own.pk))
    voided = Approval.objects.get(status="superseded")
    assert RevenueSchedule.objects.get(pk=voided.object_id).obligation == po
    return {"contract": contract, "maker": maker, "own": own, "own_approval": approval}


def test_requester_sees_no_approve_button_and_a_post_is_refused_with_409(queue, client):
    client.force_login(queue["maker"])
    own_id = queue["own_approval"].pk
    html = client.get(reverse("approvals")).content.decode()
    assert "Awaiting another approver" in html
    assert f'name="ids" value="{own_id}"' not in html and f'value="{own_id}" form="bulk"' not in html
    # The other one (requested by nobody in particular) can be decided by the maker.
    others = Approval.objects.filter(status="pending").exclude(pk=own_id)
    assert all(f'<input type="hidden" name="ids" value="{a.pk}">' in html for a in others)
    response = client.post(reverse("approvals"), {"ids": [own_id], "action": "approve", "comment": ""})
    assert response.status_code == 409
    assert "someone else must approve or reject it" in response.content.decode()
    assert Approval.objects.get(pk=own_id).status == "pending"


def test_bulk_approve_by_another_approver(queue, client, make_user):
    checker = make_user("checker", "approver")
    client.force_login(checker)
    pending = list(Approval.objects.filter(status="pending").values_list("pk", flat=True))
    assert len(pending) == 2
    html = client.get(reverse("approvals")).content.decode()
    assert "Preview schedule" in html and "Approve selected" in html
    response = client.post(reverse("approvals"), {"ids": pending, "action": "approve", "comment": "checked"})
    assert response.status_code == 302
    assert not Approval.objects.filter(status="pending").exists()
    own = RevenueSchedule.objects.get(pk=queue["own"].pk)
    assert own.status == "approved" and own.decided_by == checker
    assert "Approved 2 requests." in client.get(response["Location"]).content.decode()


def test_reject_needs_a_comment(queue, client, make_user):
    client.force_login(make_user("checker", "approver"))
    pk = queue["own_approval"].pk
    response = client.post(reverse("approvals"), {"ids": [pk], "action": "reject", "comment": " "})
    assert response.status_code == 400 and "comment is required" in response.content.decode()
    response = client.post(reverse("approvals"), {"ids": [pk], "action": "reject", "comment": "wrong dates"})
    assert response.status_code == 302
    assert RevenueSchedule.objects.get(pk=queue["own"].pk).status == "rejected"


def test_non_approvers_read_the_queue_without_controls(queue, ui_for):
    client = ui_for("finance")
    html = client.get(reverse("approvals")).content.decode()
    assert (
        "only approvers decide" in html and "Approve selected" not in html and 'value="approve"' not in html
    )
    response = client.post(reverse("approvals"), {"ids": [queue["own_approval"].pk], "action": "approve"})
    assert response.status_code == 403
    assert Approval.objects.get(pk=queue["own_approval"].pk).status == "pending"
    assert (
        ui_for("auditor", "aud").post(reverse("approvals"), {"ids": [1], "action": "approve"}).status_code
        == 403
    )


def test_dashboard_widgets_and_navigation(queue, ui_for):
    from revops import navigation
    from revops.core import dashboard
    from revrec import registrations

    nav, providers = list(navigation.NAV), list(dashboard._PROVIDERS)
    try:  # registered here too, in case RevrecConfig.ready() does not call registrations.register() yet
        registrations.register()
        html = ui_for("approver", "approver-ui").get(reverse("dashboard")).content.decode()
    finally:
        navigation.NAV[:], dashboard._PROVIDERS[:] = nav, providers
    assert "Pending approvals" in html and "Revenue recognized this month" in html
    assert "2 awaiting your decision" in html
    assert reverse("approvals") in html and reverse("revenue-ssp") in html
