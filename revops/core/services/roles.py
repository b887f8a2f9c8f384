"""Role groups and their Django model permissions (kept in sync after every migrate)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.identity import acting_as
from revops.core.models import SodException
from revops.errors import InvalidTransition, ValidationFailed
from revops.roles import ANY_KIND, MODEL_WRITERS, ROLES


def sync_role_groups(*, using: str = "default") -> dict[str, Group]:
    with acting_as("migrate"):
        return _sync_role_groups(using=using)


def _sync_role_groups(*, using: str) -> dict[str, Group]:
    groups = {}
    perms = list(Permission.objects.using(using).select_related("content_type"))
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for perm in perms:
            app = perm.content_type.app_label
            action = perm.codename.split("_", 1)[0]
            if action == "view" and app in MODEL_WRITERS:
                wanted.append(perm)
            elif app in MODEL_WRITERS and role in MODEL_WRITERS[app]:
                wanted.append(perm)
            elif role == "admin" and app in {"auth"}:
                wanted.append(perm)
        group.permissions.set(wanted)
        groups[role] = group
    return groups


@transaction.atomic
def sod_exception_record(*, user, kind: str = ANY_KIND, reason: str, actor) -> SodException:
    """Record (and audit) that USER may hold a preparing role next to the approver role and decide
    requests of KIND. Needs a reason; nobody records an exception for themselves."""
    from revops.core.approvals.registry import approval_kinds

    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationFailed("Say why this exception to segregation of duties is needed.", field="reason")
    if kind != ANY_KIND and kind not in approval_kinds():
        raise ValidationFailed(f"Unknown approval kind '{kind}'.", field="kind")
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    if actor_user is not None and actor_user.pk == user.pk:
        raise ValidationFailed(
            "Nobody records a segregation-of-duties exception for themselves.", field="user"
        )
    exception = SodException.objects.create(
        user=user,
        kind=kind,
        reason=reason,
        granted_by=actor_user,
        granted_by_label=actor_user.get_username() if actor_user else str(actor or "system"),
    )
    audit_record(
        actor=actor,
        action=AuditAction.SOD_EXCEPTION_RECORDED,
        obj=exception,
        changes={"user": user.get_username(), "kind": kind, "reason": reason},
    )
    return exception


@transaction.atomic
def sod_exception_revoke(*, exception: SodException, actor) -> SodException:
    exception = SodException.objects.select_for_update().get(pk=exception.pk)
    if exception.revoked_at is not None:
        raise InvalidTransition("This exception is already revoked.")
    exception.revoked_at = timezone.now()
    exception.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditAction.SOD_EXCEPTION_REVOKED,
        obj=exception,
        changes={"user": exception.user.get_username(), "kind": exception.kind},
    )
    return exception
