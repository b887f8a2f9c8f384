"""Hand-offs between roles (issue 16 §3), in the approvals kernel: the requester — and only the
requester — withdraws a pending request (audited; the object is left as a rejection leaves it); every
decision notifies the requester in the app, and by email after commit when email is configured; an
approver's queue (the sidebar's count, the dashboard) never holds their own requests; the Django admin
decides through the same service, so self-approval is refused there too."""

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.test import RequestFactory

from revops.core.admin import ApprovalAdmin
from revops.core.approvals import registry
from revops.core.approvals.models import Approval
from revops.core.approvals.outcomes import approval_withdraw
from revops.core.approvals.selectors import approvals_waiting_count
from revops.core.approvals.services import approval_decide, approval_request
from revops.core.audit.models import AuditEvent
from revops.core.notifications.models import Notification
from revops.errors import Forbidden, InvalidTransition

pytestmark = pytest.mark.django_db

KIND = "test_handoff_kind"


@pytest.fixture
def rejected(monkeypatch):
    """A kind whose rejection is recorded (what a withdrawal must also run)."""
    monkeypatch.setattr(registry, "_HANDLERS", dict(registry._HANDLERS))
    seen = []
    registry.register_approval_kind(
        KIND,
        on_approved=lambda approval, user: seen.append(("approved", approval.pk)),
        on_rejected=lambda approval, user: seen.append(("rejected", approval.pk)),
        label="Hand-off test",
    )
    return seen


@pytest.fixture
def people(make_user):
    return {
        "maker": make_user("maker", "finance"),
        "other": make_user("other-finance", "finance"),
        "checker": make_user("checker", "approver"),
        "checker2": make_user("checker2", "approver"),
    }


def _ask(user, object_id="1") -> Approval:
    return approval_request(
        kind=KIND, object_type="test.thing", object_id=object_id, summary="Do it", requested_by=user
    )


def test_only_the_requester_withdraws_a_pending_request_and_it_is_audited(rejected, people):
    approval = _ask(people["maker"])
    for someone in (people["other"], people["checker"]):
        with pytest.raises(Forbidden):
            approval_withdraw(approval=approval, user=someone)
    assert Approval.objects.get(pk=approval.pk).status == "pending" and rejected == []

    withdrawn = approval_withdraw(approval=approval, user=people["maker"], reason="Wrong month")
    assert withdrawn.status == "cancelled" and withdrawn.comment == "Withdrawn by the requester: Wrong month"
    assert rejected == [("rejected", approval.pk)]  # nothing approving would apply is applied
    event = AuditEvent.objects.get(action="approval.withdrawn", object_id=str(approval.pk))
    assert event.actor_id == people["maker"].pk and event.changes["reason"] == "Wrong month"
    with pytest.raises(InvalidTransition):
        approval_withdraw(approval=approval, user=people["maker"])
    decided = _ask(people["maker"], "2")
    approval_decide(approval=decided, user=people["checker"], approve=True)
    with pytest.raises(InvalidTransition):
        approval_withdraw(approval=decided, user=people["maker"])


def test_a_rejection_notifies_the_requester_in_the_app_and_by_email_after_commit(
    rejected, people, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAIL = True
    people["maker"].email = "maker@example.com"
    people["maker"].save()
    approval = _ask(people["maker"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approval_decide(approval=approval, user=people["checker"], approve=False, comment="Wrong amount")
    note = Notification.objects.get(user=people["maker"])
    assert note.title == "Rejected: Do it" and "Wrong amount" in note.body and note.read_at is None
    assert note.approval_id == approval.pk and f"#approval-{approval.pk}" in note.url
    assert mail.outbox == []  # not before the decision commits
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["maker@example.com"]]
    assert "Rejected: Do it" in mail.outbox[0].subject and "Wrong amount" in mail.outbox[0].body
    assert Notification.objects.get(pk=note.pk).emailed_at is not None
    assert not Notification.objects.filter(user=people["checker"]).exists()


def test_no_email_without_an_email_backend(rejected, people, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_EMAIL = False
    people["maker"].email = "maker@example.com"
    people["maker"].save()
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval=_ask(people["maker"]), user=people["checker"], approve=True)
    assert Notification.objects.filter(user=people["maker"], kind="approval.approved").count() == 1
    assert mail.outbox == []


def test_the_queue_count_never_holds_the_approvers_own_requests(rejected, people):
    _ask(people["maker"], "1")
    _ask(people["checker"], "2")
    assert approvals_waiting_count(people["checker"]) == 1
    assert approvals_waiting_count(people["checker2"]) == 2


def test_the_django_admin_refuses_self_approval(rejected, people):
    approval = _ask(people["checker"])
    request = RequestFactory().post("/admin/core/approval/")
    request.user = people["checker"]
    shown = []
    admin = ApprovalAdmin(Approval, site)
    admin.message_user = lambda request, text, level=None: shown.append(text)
    admin.approve(request, Approval.objects.filter(pk=approval.pk))
    assert Approval.objects.get(pk=approval.pk).status == "pending"
    assert shown and "You requested this" in shown[0]
    request.user = people["checker2"]
    admin.approve(request, Approval.objects.filter(pk=approval.pk))
    assert Approval.objects.get(pk=approval.pk).status == "approved"
    assert not admin.has_change_permission(request, approval) or admin.get_readonly_fields(request, approval)


def test_the_notification_page_lists_and_marks_read(rejected, people, client):
    approval_decide(approval=_ask(people["maker"]), user=people["checker"], approve=False, comment="No")
    client.force_login(people["maker"])
    page = client.get("/notifications/").content.decode()
    assert "Rejected: Do it" in page and "Mark all read" in page
    assert 'id="nav-bell"' in page and '1<span class="sr-only"> unread</span>' in page
    note = Notification.objects.get(user=people["maker"])
    client.force_login(people["other"])
    client.post("/notifications/", {"id": note.pk})  # someone else's: untouched
    assert Notification.objects.get(pk=note.pk).read_at is None
    client.force_login(people["maker"])
    assert client.post("/notifications/", {"id": note.pk}).status_code == 302
    assert Notification.objects.get(pk=note.pk).read_at is not None
