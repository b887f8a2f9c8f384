"""Hand-offs between roles (issue 16 §3), in the approvals kernel: the requester — and only the
requester — withdraws a pending request (audited; the object is left as a rejection leaves it); every
decision notifies the requester in the app, and by email after commit when email is configured; an
approver's queue (the sidebar's count, the dashboard) never holds their own requests; the Django admin
decides through the same service, so self-approval is refused there too. The approvers a new request
is addressed to are notified of it the same way (never its requester, nor an approver segregation of
duties bars from it); requests opened in bulk are announced once per approver."""

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
    # The decider hears nothing of the outcome (only of the request, when it was addressed to them).
    assert set(Notification.objects.filter(user=people["checker"]).values_list("kind", flat=True)) == {
        "approval.requested"
    }


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


def test_a_new_request_notifies_the_approvers_it_is_addressed_to_and_never_its_requester(
    rejected, people, make_user, settings, django_capture_on_commit_callbacks
):
    from revops.core.models import UserOrigin

    settings.NOTIFICATION_EMAIL = True
    for user in (people["checker"], people["checker2"]):
        user.email = f"{user.username}@example.com"
        user.save()
    gone = make_user("gone-approver", "approver")
    gone.is_active = False
    gone.save()
    made = make_user("made-by-maker", "approver")  # an account the requester created: SoD bars it
    UserOrigin.objects.update_or_create(user=made, defaults={"created_by": people["maker"]})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approval = _ask(people["maker"])
    notes = Notification.objects.filter(kind="approval.requested").order_by("user_id")
    assert [n.user for n in notes] == [people["checker"], people["checker2"]]
    note = notes[0]
    assert note.title == "To decide: Do it" and note.approval_id == approval.pk and note.read_at is None
    assert note.body == f"maker asked for a hand-off test decision (request #{approval.pk})."
    assert note.url == f"/approvals/?request={approval.pk}#approval-{approval.pk}"
    assert mail.outbox == []  # after the request commits
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == ["checker2@example.com", "checker@example.com"]
    assert "To decide: Do it" in mail.outbox[0].subject

    # An approver asking: the other approver hears of it, the requester does not.
    mine = _ask(people["checker"], "2")
    heard = sorted(Notification.objects.filter(approval=mine).values_list("user__username", flat=True))
    assert heard == ["checker2", "made-by-maker"]  # not its requester; the maker made no request here
    assert not Notification.objects.filter(user__in=[people["maker"], gone]).exists()
    assert not Notification.objects.filter(user=made, approval=approval).exists()

    # The queue link opens the request.
    from django.test import Client

    client = Client()
    client.force_login(people["checker"])
    page = client.get(note.url).content.decode()
    assert f'id="approval-{approval.pk}"' in page and "Do it" in page


def test_a_replaced_request_is_announced_and_the_decider_who_replaced_it_is_spared(rejected, people):
    from revops.core.approvals.services import ContentChanged, approval_rebind

    state = {"v": 1}
    registry.register_approval_kind(
        KIND, on_approved=lambda a, u: None, label="Hand-off test", content=lambda a: {"v": state["v"]}
    )
    first = _ask(people["maker"])
    state["v"] = 2
    with pytest.raises(ContentChanged) as refused:
        approval_decide(approval=first, user=people["checker"], approve=True)
    new = refused.value.replacement
    heard = Notification.objects.filter(approval=new).values_list("user__username", "body")
    assert [user for user, _ in heard] == ["checker2"]  # the checker saw the refusal on the spot
    assert f"It replaces request #{first.pk}" in heard[0][1]
    state["v"] = 3
    newer = approval_rebind(kind=KIND, object_type="test.thing", object_id="1", actor=people["other"])
    assert sorted(Notification.objects.filter(approval=newer).values_list("user__username", flat=True)) == [
        "checker",
        "checker2",
    ]


def test_requests_opened_in_bulk_are_announced_once_per_approver(rejected, people):
    from revops.core.approvals.services import approval_request_many
    from revops.core.notifications.services import notification_mark_read

    def batch(ids):
        return approval_request_many(
            kind=KIND,
            requested_by=people["maker"],
            requests=[{"object_type": "test.thing", "object_id": i, "summary": f"Do {i}"} for i in ids],
        )

    opened = batch(["1", "2", "3"])
    notes = Notification.objects.filter(kind=f"approval.requested:{KIND}").order_by("user_id")
    assert [n.user for n in notes] == [people["checker"], people["checker2"]]
    assert notes[0].title == "To decide: 3 hand-off test requests"
    assert f"requests #{opened[0].pk} to #{opened[-1].pk}" in notes[0].body
    assert notes[0].url == f"/approvals/?kind={KIND}"
    assert not Notification.objects.filter(kind="approval.requested").exists()
    assert not Notification.objects.filter(user=people["maker"]).exists()

    batch(["1", "4", "5"])  # unread still: the queue already says what waits
    assert Notification.objects.filter(kind=f"approval.requested:{KIND}").count() == 2
    notification_mark_read(user=people["checker"])
    batch(["6", "7"])
    assert Notification.objects.filter(kind=f"approval.requested:{KIND}", user=people["checker"]).count() == 2
    assert (
        Notification.objects.filter(kind=f"approval.requested:{KIND}", user=people["checker2"]).count() == 1
    )
    batch(["1", "8"])  # one fresh request among pending ones: announced as that request
    [single] = Notification.objects.filter(kind="approval.requested", user=people["checker2"])
    assert single.title == "To decide: Do 8"
