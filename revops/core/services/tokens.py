"""API token services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.identity import acting_as
from revops.core.models import ApiToken, hash_token
from revops.errors import Conflict, InvalidTransition, ValidationFailed
from revops.roles import ADMIN, ROLES, roles_of


@transaction.atomic
def api_token_create(*, username: str, role: str, name: str = "", actor=None) -> tuple[ApiToken, str]:
    """Create (or reuse) USERNAME, put it in ROLE's group and mint a token. Returns the record and
    the raw token, which is shown once and never stored.

    Roles never stack silently: an existing user who holds a different role is refused (a token
    acts with all its user's roles) — change roles in Django admin, where it is audited and checked
    for segregation of duties. Creating the user and granting the role are audit events."""
    if role not in ROLES:
        raise ValidationFailed(f"Unknown role '{role}'. Choose one of: {', '.join(ROLES)}.", field="role")
    user_model = get_user_model()
    with acting_as(actor if actor is not None else "system"):
        user, created = user_model.objects.get_or_create(username=username)
        held = roles_of(user) - {role}
        if held:
            raise Conflict(
                f"User '{username}' already holds the {', '.join(sorted(held))} role; a token would act "
                f"with every role of its user. Use another username for a {role} token, or change the "
                "user's roles in Django admin.",
                field="role",
            )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role == ADMIN and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name or f"{role} token", prefix=raw[:12], key_hash=hash_token(raw)
    )
    audit_record(
        actor=actor,
        action=AuditAction.API_TOKEN_CREATED,
        obj=token,
        changes={"user": username, "role": role, "prefix": token.prefix, "user_created": created},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor=None) -> ApiToken:
    """Revoke a token for good (audited). A token is never re-activated or moved to another user."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise InvalidTransition(f"Token {token.prefix}… is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditAction.API_TOKEN_REVOKED,
        obj=token,
        changes={"user": token.user.get_username(), "prefix": token.prefix},
    )
    return token
