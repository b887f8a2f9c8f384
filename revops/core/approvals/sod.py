"""Segregation of duties at decision time: who may not decide a request (revops.roles says which
roles conflict; this reads the recorded exceptions, grants and account origins)."""

from __future__ import annotations

from revops.core.models import RoleGrant, SodException, UserOrigin
from revops.roles import APPROVER, roles_of, sod_conflict


def sod_refusal(user, *, kind: str, requester_ids) -> str | None:
    """Why USER may not decide a request of KIND made by REQUESTER_IDS (segregation of duties), or
    None. Refused: holding a preparing role for the kind next to the approver role without a recorded
    exception; an account created, given the approver role, or given its password by the requester
    (a person cannot mint their own checker)."""
    conflict = sod_conflict(roles_of(user), kind)
    if conflict and not SodException.covering(user, kind=kind).exists():
        return (
            f"{user.get_username()} holds the {', '.join(sorted(conflict))} role next to the approver "
            f"role; deciding '{kind}' requests needs a recorded segregation-of-duties exception."
        )
    makers = {pk for pk in requester_ids if pk is not None}
    if not makers:
        return None
    if RoleGrant.objects.filter(
        user=user, role=APPROVER, revoked_at__isnull=True, granted_by_id__in=makers
    ).exists():
        return "The requester gave this approver the approver role; someone else must decide it."
    origin = UserOrigin.objects.filter(user=user).first()
    if origin and origin.created_by_id in makers:
        return "The requester created this account; someone else must decide it."
    if origin and origin.password_set_by_id in makers:
        return "The requester set this account's password; someone else must decide it."
    return None
