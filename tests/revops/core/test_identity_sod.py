"""Identity and segregation of duties (issue 12, point 6): the attacks of the abuse test, performed
through Django admin, the API and the approval queue."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.core.audit.verify import audit_verify_chain
from revops.core.identity import SegregationOfDuties
from revops.core.models import ApiToken, RoleGrant, SodException, TokenReassignment
from revops.core.services.tokens import api_token_create
from revrec.models import AccountingPeriod

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def closed_period(db):
    return AccountingPeriod.objects.create(
        period="2026-01", start=date(2026, 1, 1), end=date(2026, 1, 31), status="closed"
    )


def _admin_user_change(client, user, **overrides):
    """POST the Django admin change form of USER with its current values, changed by OVERRIDES."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(g.pk) for g in user.groups.all()],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v != ""}
    return client.post(f"/admin/auth/user/{user.pk}/change/", data)


def _request_reopen(api, period="2026-01") -> Approval:
    response = api.post(
        f"/api/v1/periods/{period}/reopen", {"reason": "late invoice correction"}, format="json"
    )
    assert response.status_code == 202, response.content
    return Approval.objects.get(pk=response.json()["approval"])


def _events(action, user=None):
    qs = AuditEvent.objects.filter(action=action)
    if user is not None:
        qs = qs.filter(object_type="auth.user", object_id=str(user.pk))
    return qs


# --- tokens cannot be reassigned ---------------------------------------------------------------
@pytest.fixture
def root_with_token(client, api_for):
    """The administrator 'root' with an API token and a Django admin session."""
    api = api_for("admin", username="root")
    root = api.user
    root.is_staff = True
    root.save()
    client.force_login(root)
    return client, api, root


def test_token_user_is_read_only_in_admin_and_a_reassigned_token_still_acts_as_its_owner(
    root_with_token, api_for, closed_period
):
    client, admin_api, root = root_with_token
    approver = api_for("approver", username="approver-1").user
    token = ApiToken.objects.get(user=root)
    approval = _request_reopen(admin_api)

    # The attack: change the token's user to the approver in Django admin.
    page = client.get(f"/admin/core/apitoken/{token.pk}/change/")
    assert page.status_code == 200 and 'name="user"' not in page.content.decode()
    response = client.post(
        f"/admin/core/apitoken/{token.pk}/change/", {"user": str(approver.pk), "name": "moved"}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.user_id == root.pk and token.name == "moved"

    # The token still speaks for root: approving root's own reopen is refused, the period stays closed.
    refused = admin_api.post(f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json")
    assert refused.status_code in (403, 409), refused.content
    assert AccountingPeriod.objects.get(period="2026-01").status == "closed"
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_token_model_refuses_a_new_user(api_for):
    owner = api_for("finance", username="owner").user
    other = api_for("approver", username="other").user
    token = ApiToken.objects.get(user=owner)
    token.user = other
    with pytest.raises(TokenReassignment):
        token.save()
    assert ApiToken.objects.get(pk=token.pk).user_id == owner.pk


def test_tokens_are_revoked_not_deleted_in_admin_and_revocation_is_audited(root_with_token, api_for):
    client, _api, _root = root_with_token
    target = api_for("finance", username="pipeline")
    token = ApiToken.objects.get(user=target.user)
    assert client.post(f"/admin/core/apitoken/{token.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="api_token.revoked", object_id=str(token.pk))
    assert event.actor_label == "root"
    assert target.get("/api/v1/customers").status_code == 401


# --- an approver created / promoted by the requester ---------------------------------------------
def test_user_created_and_made_approver_in_admin_by_the_requester_cannot_approve_their_request(
    root_with_token, closed_period
):
    client, admin_api, root = root_with_token
    approval = _request_reopen(admin_api)

    # The attack: root creates 'sidekick' in Django admin, puts them in the approver group, and
    # signs in as them (root chose the password).
    created = client.post(
        "/admin/auth/user/add/",
        {
            "username": "sidekick",
            "usable_password": "true",
            "password1": "Sidekick-pass-9182",
            "password2": "Sidekick-pass-9182",
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    sidekick = User.objects.get(username="sidekick")
    changed = _admin_user_change(client, sidekick, groups=[str(Group.objects.get(name="approver").pk)])
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert sidekick.groups.filter(name="approver").exists()

    # Every step is in the chain, attributed to root.
    assert _events("user.created", sidekick).get().actor_label == "root"
    assert _events("user.role_granted", sidekick).get().changes == {"role": "approver"}
    assert _events("user.role_granted", sidekick).get().actor_label == "root"
    assert RoleGrant.objects.get(user=sidekick, role="approver").granted_by == root

    client.logout()
    signed_in = client.post("/login/", {"username": "sidekick", "password": "Sidekick-pass-9182"})
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(sidekick.pk)
    response = client.post("/approvals/", {"ids": [str(approval.pk)], "action": "approve", "comment": "ok"})
    assert response.status_code == 409
    assert "someone else must decide" in response.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == "pending"
    assert AccountingPeriod.objects.get(period="2026-01").status == "closed"

    # Through the API too (a token minted for sidekick with the role they already hold).
    _token, raw = api_token_create(username="sidekick", role="approver", actor="cli")
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 409
    assert audit_verify_chain().valid


def test_approver_promoted_by_someone_else_may_approve_but_not_one_whose_password_the_requester_set(
    root_with_token, api_for, make_user, closed_period
):
    client, _admin_api, root = root_with_token
    finance = api_for("finance", username="fin")
    approval = _request_reopen(finance)
    checker = make_user("checker", "approver")

    # root resets the checker's password in Django admin: root now controls the account, but root is
    # not the requester here, so the finance user's request may still be decided by it...
    response = client.post(
        f"/admin/auth/user/{checker.pk}/password/",
        {"password1": "Root-chose-this-77", "password2": "Root-chose-this-77", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    event = _events("user.password_changed", checker).get()
    assert event.actor_label == "root" and event.changes["by_owner"] is False
    # ... while a request root makes cannot be decided by it.
    own = Approval.objects.create(
        kind="price_override", object_type="x.y", object_id="1", summary="s", requested_by=root
    )
    from revops.core.approvals.services import SelfApproval, approval_decide

    with pytest.raises(SelfApproval), transaction.atomic():
        approval_decide(approval=own, user=checker, approve=True)
    decided = approval_decide(approval=approval, user=checker, approve=True, comment="checked")
    assert decided.status == "approved"


# --- segregation of duties --------------------------------------------------------------------
def test_admin_form_refuses_approver_role_for_a_finance_user_without_an_exception(root_with_token, make_user):
    client, _api, _root = root_with_token
    fin = make_user("fin-user", "finance")
    groups = [str(Group.objects.get(name=n).pk) for n in ("finance", "approver")]
    response = _admin_user_change(client, fin, groups=groups)
    assert response.status_code == 200  # the form comes back with the error
    assert "one person does not prepare and approve" in response.content.decode()
    assert not fin.groups.filter(name="approver").exists()
    assert not _events("user.role_granted", fin).filter(changes__role="approver").exists()

    # Code paths that bypass the form are refused as well.
    with pytest.raises(SegregationOfDuties), transaction.atomic():
        fin.groups.add(Group.objects.get(name="approver"))
    with pytest.raises(SegregationOfDuties), transaction.atomic():
        Group.objects.get(name="approver").user_set.add(fin)
    approver = make_user("appr", "approver")
    approver.is_superuser = True
    with pytest.raises(SegregationOfDuties), transaction.atomic():
        approver.save()


def test_recorded_exception_allows_the_roles_for_its_kind_only(root_with_token, make_user, api_for):
    client, _api, root = root_with_token
    fin = make_user("small-team", "finance")
    # Recording the exception in Django admin: a reason is required, and it is audited.
    assert (
        client.post(
            "/admin/core/sodexception/add/", {"user": fin.pk, "kind": "exception_waiver", "reason": ""}
        ).status_code
        == 200
    )
    response = client.post(
        "/admin/core/sodexception/add/",
        {"user": fin.pk, "kind": "exception_waiver", "reason": "Two-person finance team; CFO signed off."},
    )
    assert response.status_code == 302
    exception = SodException.objects.get(user=fin)
    event = AuditEvent.objects.get(action="sod_exception.recorded")
    assert event.actor_label == "root" and event.changes["kind"] == "exception_waiver"
    assert exception.granted_by == root

    fin.groups.add(Group.objects.get(name="approver"))  # now allowed
    requester = make_user("other-fin", "finance")
    waiver = Approval.objects.create(
        kind="exception_waiver", object_type="x.y", object_id="1", summary="s", requested_by=requester
    )
    reopen = Approval.objects.create(
        kind="period_reopen", object_type="x.y", object_id="2", summary="s", requested_by=requester
    )
    from revops.core.approvals.services import SelfApproval, check_can_decide

    fin = User.objects.get(pk=fin.pk)
    check_can_decide(waiver, fin)  # covered by the exception
    with pytest.raises(SelfApproval, match="segregation-of-duties exception"):
        check_can_decide(reopen, fin)


def test_sod_exception_command_records_and_audits(make_user):
    fin = make_user("cmd-fin", "finance")
    with pytest.raises(CommandError):
        call_command("sod_exception", "cmd-fin", "--reason", "short")
    call_command(
        "sod_exception", "cmd-fin", "--reason", "Interim approver during audit season", "--by", "cli"
    )
    assert SodException.objects.get(user=fin).kind == "*"
    assert AuditEvent.objects.filter(action="sod_exception.recorded", actor_label="cli").exists()


def test_admin_role_decides_nothing(api_for, closed_period):
    admin = api_for("admin")
    finance = api_for("finance")
    approval = _request_reopen(finance)
    refused = admin.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json")
    assert refused.status_code == 403
    assert Approval.objects.get(pk=approval.pk).status == "pending"


# --- user and group changes are audit events ----------------------------------------------------
def test_deactivation_role_removal_and_privileges_in_admin_are_audited(root_with_token, make_user):
    client, _api, _root = root_with_token
    fin = make_user("leaver", "finance")
    response = _admin_user_change(client, fin, is_active="", groups=[], is_staff="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _events("user.deactivated", fin).get().actor_label == "root"
    revoked = _events("user.role_revoked", fin).get()
    assert revoked.changes == {"role": "finance"} and revoked.actor_label == "root"
    assert _events("user.privileges_changed", fin).get().changes == {"is_staff": [False, True]}
    assert RoleGrant.objects.get(user=fin, role="finance").revoked_at is not None
    assert audit_verify_chain().valid


# --- create_api_token no longer stacks roles -------------------------------------------------------
def test_create_api_token_refuses_to_add_a_second_role(capsys):
    call_command("create_api_token", "pipeline", role="finance")
    with pytest.raises(CommandError, match="already holds the finance role"):
        call_command("create_api_token", "pipeline", role="approver")
    user = User.objects.get(username="pipeline")
    assert set(user.groups.values_list("name", flat=True)) == {"finance"}
    assert ApiToken.objects.filter(user=user).count() == 1
    # The same role again is a second token for the same person.
    call_command("create_api_token", "pipeline", role="finance")
    assert ApiToken.objects.filter(user=user).count() == 2
    assert AuditEvent.objects.filter(action="user.created", object_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="user.role_granted", object_id=str(user.pk)).count() == 1


def test_demo_users_hold_no_conflicting_roles(db):
    from revops.core.demo import seed_users
    from revops.roles import roles_of, sod_conflict

    with transaction.atomic():
        seed_users()
    for name in ("admin", "finance", "pricing", "approver", "approver2", "auditor"):
        assert not sod_conflict(roles_of(User.objects.get(username=name))), name
    assert AuditEvent.objects.filter(action="user.created", actor_label="seed_demo").count() == 6
