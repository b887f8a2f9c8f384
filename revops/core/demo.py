"""Demo data registry. Users first, then each app's seeder in registration order, except that a seeder
registered ``after`` another runs once that one has (compliance closes what revrec posted, yet its app is
ready first)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from revops.core.identity import acting_as
from revops.core.services.roles import sync_role_groups
from revops.roles import ADMIN, ROLE_LABELS, ROLES

DEMO_PASSWORD_SUFFIX = "-demo-pass"  # noqa: S105 - published demo credentials, printed by seed_demo
_SEEDERS: list[tuple[str, Callable, str | None]] = []


def register_seeder(name: str, fn: Callable, *, after: str | None = None) -> None:
    if name not in {n for n, _, _ in _SEEDERS}:
        _SEEDERS.append((name, fn, after))


def _in_order() -> list[tuple[str, Callable]]:
    """Registration order, each seeder held back until the one it runs ``after`` (if registered) ran."""
    known = {name for name, _, _ in _SEEDERS}
    pending, ran, out = list(_SEEDERS), set(), []
    while pending:
        ready = next(i for i, (_, _, after) in enumerate(pending) if after not in known or after in ran)
        name, fn, _ = pending.pop(ready)
        ran.add(name)
        out.append((name, fn))
    return out


def seed_users() -> list[tuple[str, str, str]]:
    # Creating the users and granting their roles are audit events (revops.core.identity), by seed_demo.
    with acting_as("seed_demo"):
        return _seed_users()


def _seed_users() -> list[tuple[str, str, str]]:
    sync_role_groups()
    user_model = get_user_model()
    created = []
    names = {
        ADMIN: ("Ada", "Admin"),
        "finance": ("Fiona", "Finance"),
        "pricing": ("Pablo", "Pricing"),
        "approver": ("Amara", "Approver"),
        "auditor": ("Otto", "Auditor"),
    }
    for role in ROLES:
        password = f"{role}{DEMO_PASSWORD_SUFFIX}"
        user, was_created = user_model.objects.get_or_create(
            username=role,
            defaults={
                "first_name": names[role][0],
                "last_name": names[role][1],
                "email": f"{role}@demo.concord.test",
            },
        )
        if was_created:
            user.set_password(password)
            user.is_staff = role == ADMIN
            user.is_superuser = role == ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=role))
        created.append((role, password, ROLE_LABELS[role]))
    # A second approver so maker-checker flows can be shown end to end.
    second, was_created = user_model.objects.get_or_create(
        username="approver2",
        defaults={"first_name": "Bo", "last_name": "Checker", "email": "approver2@demo.concord.test"},
    )
    if was_created:
        second.set_password(f"approver2{DEMO_PASSWORD_SUFFIX}")
        second.save()
    second.groups.add(Group.objects.get(name="approver"))
    created.append(("approver2", f"approver2{DEMO_PASSWORD_SUFFIX}", ROLE_LABELS["approver"]))
    return created


def run_seeders(*, log: Callable[[str], None]) -> list[str]:
    lines = []
    for name, fn in _in_order():
        result = fn()
        lines.append(f"seeded {name}: {result}")
    return lines
