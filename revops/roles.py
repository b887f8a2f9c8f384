"""Roles and what each may do.

Five roles, each a Django group. An *area* is a slice of the product; API views and UI views name
their area, and a role may read and/or write it. Admin may do everything; auditors read everything
and write nothing; approvers decide approvals (and never their own requests, enforced by the
approval service, not here).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ADMIN, FINANCE, PRICING, APPROVER, AUDITOR = "admin", "finance", "pricing", "approver", "auditor"
ROLES = (ADMIN, FINANCE, PRICING, APPROVER, AUDITOR)
ROLE_LABELS = {
    ADMIN: "Administrator",
    FINANCE: "Finance",
    PRICING: "Pricing admin",
    APPROVER: "Approver",
    AUDITOR: "Auditor",
}

ALL = frozenset(ROLES)

# area -> (roles that may read, roles that may write)
AREAS: dict[str, tuple[frozenset, frozenset]] = {
    "catalog": (ALL, frozenset({ADMIN, PRICING})),
    "pricing": (ALL, frozenset({ADMIN, PRICING, FINANCE})),  # previews/simulations write nothing
    "customers": (ALL, frozenset({ADMIN, FINANCE})),
    "contracts": (ALL, frozenset({ADMIN, FINANCE})),
    "usage": (ALL, frozenset({ADMIN, FINANCE})),
    "billing": (ALL, frozenset({ADMIN, FINANCE})),
    "revenue": (ALL, frozenset({ADMIN, FINANCE})),
    "reports": (ALL, frozenset({ADMIN, FINANCE})),
    "approvals": (ALL, frozenset({ADMIN, APPROVER, FINANCE, PRICING})),  # decide: approver/admin
    "compliance": (ALL, frozenset({ADMIN, FINANCE, APPROVER})),
    "periods": (ALL, frozenset({ADMIN, FINANCE, APPROVER})),
    "audit": (ALL, frozenset()),
    "jobs": (ALL, frozenset({ADMIN, FINANCE})),
}
DECIDERS = frozenset({ADMIN, APPROVER})

# Django model permissions given to each group (for the admin site and has_perm checks):
# app label -> roles that get add/change/delete; everyone gets view.
MODEL_WRITERS: dict[str, frozenset] = {
    "contracts": frozenset({ADMIN, FINANCE, PRICING}),
    "billing": frozenset({ADMIN, FINANCE, PRICING}),
    "revrec": frozenset({ADMIN, FINANCE}),
    "compliance": frozenset({ADMIN}),
    "core": frozenset({ADMIN}),
}


def roles_of(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_concord_roles", None)
    if cached is not None:
        return cached
    roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(ADMIN)
    result = frozenset(roles)
    user._concord_roles = result
    return result


def can_read(user, area: str) -> bool:
    return bool(roles_of(user) & AREAS[area][0])


def can_write(user, area: str) -> bool:
    return bool(roles_of(user) & AREAS[area][1])


def can_decide(user) -> bool:
    return bool(roles_of(user) & DECIDERS)


def primary_role(user) -> str | None:
    roles = roles_of(user)
    for role in ROLES:
        if role in roles:
            return role
    return None
