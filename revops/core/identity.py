"""Identity changes are audit events, whoever makes them and however (Django admin, a command, code).

Users (create, activate/deactivate, staff/superuser, password), role groups (grant, revoke — both
sides of the many-to-many, ``clear`` included) and groups are watched with model signals, so a change
made in Django admin lands in the hash chain in the admin's own transaction. The acting person comes
from :class:`ActorMiddleware` (the request's user) or :func:`acting_as` (commands, services).

Segregation of duties is enforced at grant time too: a user may not end up holding a preparing role
and the approver role (``revops.roles.sod_conflict``) unless an SoD exception is recorded for them.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest
from django.utils import timezone

from revops.core.audit.actions import AuditAction
from revops.errors import Forbidden
from revops.roles import ADMIN, ROLES, sod_conflict

_actor: ContextVar = ContextVar("concord_actor", default=None)
_WATCHED = ("username", "is_active", "is_staff", "is_superuser", "password")


class SegregationOfDuties(Forbidden):
    slug = "segregation-of-duties"
    title = "Segregation of duties"


@contextmanager
def acting_as(actor):
    """Attribute identity changes made inside the block to ACTOR (a user or a label such as 'cli')."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


class ActorMiddleware:
    """Makes the request's user the actor of identity changes made while serving it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _actor.set(request)
        try:
            return self.get_response(request)
        finally:
            _actor.reset(token)


def current_actor():
    """The user making the current change, or a label ('cli', 'seed_demo', 'anonymous', 'system')."""
    actor = _actor.get()
    if isinstance(actor, HttpRequest):
        user = getattr(actor, "user", None)
        return user if user is not None and user.is_authenticated else "anonymous"
    return actor if actor is not None else "system"


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _label(actor) -> str:
    user = _actor_user(actor)
    return user.get_username() if user else str(actor)


def _record(**kwargs) -> None:
    from revops.core.audit.services import audit_record

    with transaction.atomic():
        audit_record(actor=current_actor(), **kwargs)


def _roles(user, groups) -> set[str]:
    roles = {g for g in groups if g in ROLES}
    if user.is_superuser:
        roles.add(ADMIN)
    return roles


def sod_grant_refusal(user, roles: set[str]) -> str | None:
    """Why USER may not hold ROLES (a preparing role next to the approver role), or None."""
    from revops.core.models import SodException

    conflict = sod_conflict(roles)
    if not conflict or (user.pk and SodException.covering(user).exists()):
        return None
    return (
        f"{user.get_username()} would hold the approver role and the {', '.join(sorted(conflict))} role: "
        "one person does not prepare and approve. Record a segregation-of-duties exception first "
        "(manage.py sod_exception) if this is really needed."
    )


def _group_names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


# --- users ----------------------------------------------------------------------------------------
def _user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        instance._concord_before = None
        return
    before = None
    if instance.pk:
        before = sender.objects.filter(pk=instance.pk).values(*_WATCHED).first()
    instance._concord_before = before
    if instance.is_superuser and (before is None or not before["is_superuser"]) and instance.pk:
        refusal = sod_grant_refusal(instance, _roles(instance, _group_names(instance)))
        if refusal:
            raise SegregationOfDuties(refusal)


def _user_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    from revops.core.models import UserOrigin

    actor = current_actor()
    if created:
        UserOrigin.objects.update_or_create(
            user=instance, defaults={"created_by": _actor_user(actor), "created_by_label": _label(actor)}
        )
        _record(
            action=AuditAction.USER_CREATED,
            obj=instance,
            changes={
                "username": instance.get_username(),
                "is_active": instance.is_active,
                "is_staff": instance.is_staff,
                "is_superuser": instance.is_superuser,
            },
        )
        return
    before = getattr(instance, "_concord_before", None)
    instance._concord_before = None
    if not before:
        return
    if before["is_active"] != instance.is_active:
        _record(
            action=AuditAction.USER_ACTIVATED if instance.is_active else AuditAction.USER_DEACTIVATED,
            obj=instance,
        )
    flags = {
        f: [before[f], getattr(instance, f)]
        for f in ("username", "is_staff", "is_superuser")
        if before[f] != getattr(instance, f)
    }
    if flags:
        instance.__dict__.pop("_concord_roles", None)
        _record(action=AuditAction.USER_PRIVILEGES_CHANGED, obj=instance, changes=flags)
    if before["password"] != instance.password:
        by = _actor_user(actor)
        UserOrigin.objects.update_or_create(
            user=instance, defaults={"password_set_by": by if by and by.pk != instance.pk else None}
        )
        _record(
            action=AuditAction.USER_PASSWORD_CHANGED,
            obj=instance,
            changes={"by_owner": bool(by and by.pk == instance.pk), "usable": instance.has_usable_password()},
        )


def _user_post_delete(sender, instance, **kwargs):
    _record(
        action=AuditAction.USER_DELETED,
        object_type="auth.user",
        object_id=instance.pk,
        changes={"username": instance.get_username()},
    )


# --- role groups ----------------------------------------------------------------------------------
def _pairs(instance, reverse: bool, pk_set) -> list[tuple[object, Group]]:
    user_model = get_user_model()
    if reverse:  # group.user_set.add(...)
        return [(u, instance) for u in user_model.objects.filter(pk__in=pk_set or ())]
    return [(instance, g) for g in Group.objects.filter(pk__in=pk_set or ())]


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    from revops.core.models import RoleGrant

    if action == "pre_add":
        by_user: dict[int, tuple[object, set[str]]] = {}
        for user, group in _pairs(instance, reverse, pk_set):
            by_user.setdefault(user.pk, (user, set()))[1].add(group.name)
        for user, added in by_user.values():
            refusal = sod_grant_refusal(user, _roles(user, _group_names(user) | added))
            if refusal:
                raise SegregationOfDuties(refusal)
        return
    if action in ("pre_remove", "pre_clear"):
        if action == "pre_clear":
            pairs = (
                [(instance, g) for g in instance.groups.all()]
                if not reverse
                else [(u, instance) for u in instance.user_set.all()]
            )
        else:
            through = sender.objects
            key = "group_id__in" if not reverse else "user_id__in"
            owner = {"user_id": instance.pk} if not reverse else {"group_id": instance.pk}
            present = set(
                through.filter(**owner, **{key: pk_set or ()}).values_list(
                    "group_id" if not reverse else "user_id", flat=True
                )
            )
            pairs = _pairs(instance, reverse, present)
        instance._concord_removing = pairs
        return
    actor = current_actor()
    if action == "post_add":
        for user, group in _pairs(instance, reverse, pk_set):
            user.__dict__.pop("_concord_roles", None)
            RoleGrant.objects.create(
                user=user, role=group.name, granted_by=_actor_user(actor), granted_by_label=_label(actor)
            )
            _record(action=AuditAction.USER_ROLE_GRANTED, obj=user, changes={"role": group.name})
    elif action in ("post_remove", "post_clear"):
        for user, group in getattr(instance, "_concord_removing", []):
            user.__dict__.pop("_concord_roles", None)
            RoleGrant.objects.filter(user=user, role=group.name, revoked_at__isnull=True).update(
                revoked_at=timezone.now(), revoked_by_label=_label(actor)
            )
            _record(action=AuditAction.USER_ROLE_REVOKED, obj=user, changes={"role": group.name})
        instance._concord_removing = []
    if isinstance(instance, get_user_model()):
        instance.__dict__.pop("_concord_roles", None)


def _group_saved(sender, instance, created, raw=False, **kwargs):
    if not raw and created and current_actor() != "migrate":
        _record(action=AuditAction.GROUP_CREATED, obj=instance, changes={"name": instance.name})


def _group_deleted(sender, instance, **kwargs):
    _record(
        action=AuditAction.GROUP_DELETED,
        object_type="auth.group",
        object_id=instance.pk,
        changes={"name": instance.name},
    )


def _group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    # The role -> permission map is code (revops.roles), re-applied after each migrate; only changes
    # made by a person (Django admin) are events.
    if action not in ("post_add", "post_remove", "post_clear") or current_actor() in ("migrate", "system"):
        return
    target = instance.name if not reverse else f"permission {instance.pk}"
    _record(
        action=AuditAction.GROUP_PERMISSIONS_CHANGED,
        object_type="auth.group" if not reverse else "auth.permission",
        object_id=instance.pk,
        changes={"group": target, "change": action.removeprefix("post_"), "ids": sorted(pk_set or ())},
    )


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="identity-user-pre")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="identity-user-post")
    post_delete.connect(_user_post_delete, sender=user_model, dispatch_uid="identity-user-del")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="identity-groups")
    post_save.connect(_group_saved, sender=Group, dispatch_uid="identity-group-post")
    post_delete.connect(_group_deleted, sender=Group, dispatch_uid="identity-group-del")
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid="identity-group-perms"
    )
