"""Role groups and their Django model permissions (kept in sync after every migrate)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from revops.roles import MODEL_WRITERS, ROLES


def sync_role_groups(*, using: str = "default") -> dict[str, Group]:
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
