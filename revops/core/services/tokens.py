"""API token services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from compliance.audit import audit_record
from revops.core.models import ApiToken, hash_token
from revops.errors import ValidationFailed
from revops.roles import ADMIN, ROLES


@transaction.atomic
def api_token_create(*, username: str, role: str, name: str = "", actor=None) -> tuple[ApiToken, str]:
    """Create (or reuse) USERNAME, put it in ROLE's group and mint a token. Returns the record and
    the raw token, which is shown once and never stored."""
    if role not in ROLES:
        raise ValidationFailed(f"Unknown role '{role}'. Choose one of: {', '.join(ROLES)}.", field="role")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
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
        action="api_token.created",
        obj=token,
        changes={"user": username, "role": role, "prefix": token.prefix, "user_created": created},
    )
    return token, raw
