"""Roles and what each may do.

Five roles, each a Django group. An *area* is a slice of the product; API views and UI views name
their area, and a role may read and/or write it. Admin may write everything but decides nothing;
auditors read everything and write nothing; approvers decide approvals (never their own requests,
enforced by the approval service).

Segregation of duties: a *preparing* role (admin, finance, pricing) makes the requests an approver
decides. One person does not hold a preparing role and the approver role for the same kind of request
unless an explicit, audited SoD exception for that person (and kind) is recorded
(``revops.core.models.SodException``); ``revops.core.approvals.sod.sod_refusal`` is the check the
approval service runs. This module reads no database.
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
DECIDERS = frozenset({APPROVER})

# Segregation of duties. The roles whose work produces requests of each approval kind ("preparing"
# roles); a kind not listed (price versions, discounts, coupons, credits, account mappings, overrides
# and any kind added later) is prepared by every preparing role. Approvers may *ask* for a period
# close or reopen or an exception waiver too, but another approver decides it (self-approval rule).
PREPARING_ROLES = frozenset({ADMIN, FINANCE, PRICING})
PREPARERS: dict[str, frozenset] = {
    "revenue_schedule": frozenset({ADMIN, FINANCE}),
    "contract_modification": frozenset({ADMIN, FINANCE}),
    "ssp_change": frozenset({ADMIN, FINANCE}),
    "period_close": frozenset({ADMIN, FINANCE}),
    "period_reopen": frozenset({ADMIN, FINANCE}),
    "exception_waiver": frozenset({ADMIN, FINANCE}),
}
ANY_KIND = "*"

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


def preparing_roles(kind: str) -> frozenset[str]:
    return PREPARERS.get(kind, PREPARING_ROLES)


def sod_conflict(roles: frozenset[str] | set[str], kind: str = ANY_KIND) -> frozenset[str]:
    """The preparing roles that conflict with the approver role for KIND (any kind: ``*``) in a
    person holding ROLES; empty when there is no conflict."""
    if APPROVER not in roles:
        return frozenset()
    return frozenset(roles) & (PREPARING_ROLES if kind == ANY_KIND else preparing_roles(kind))


def primary_role(user) -> str | None:
    roles = roles_of(user)
    for role in ROLES:
        if role in roles:
            return role
    return None
