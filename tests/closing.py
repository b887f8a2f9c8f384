"""Closing a period in tests, as the product does it: one person asks (POST periods/{key}/close, 202:
an approval request), a second person — an approver who did not ask — approves it, and the period
closes (maker-checker, issue 16 §3)."""

from __future__ import annotations


def close_approver():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from revops.core.services.roles import sync_role_groups

    user = get_user_model().objects.filter(username="close-approver").first()
    if user is None:
        sync_role_groups()
        user = get_user_model().objects.create_user(username="close-approver", password="pw-123456!")
        user.groups.add(Group.objects.get(name="approver"))
    return user


def close_period(client, key: str):
    """Ask to close ``key`` through the API as ``client``'s user; when the request is opened (202), the
    second person approves it. Returns the request's response (202, or the refusal)."""
    from revops.core.approvals.models import Approval
    from revops.core.approvals.services import approval_decide

    response = client.post(f"/api/v1/periods/{key}/close")
    if response.status_code == 202:
        approval = Approval.objects.get(pk=response.json()["approval"])
        approval_decide(approval=approval, user=close_approver(), approve=True, comment="Close approved.")
    return response
