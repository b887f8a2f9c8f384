"""The organization's billing settings (billing.models.BillingSettings): read the version in force,
change them by appending a version. Finance and admin change them (area ``billing``), from the
settings page or the API; every change is audited with what it was and what it became."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.models import BillingSettings
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, ValidationFailed
from revops.parties.services.customers import grace_hours_errors

# The settings in force before anyone changed them: version 0, never stored.
DEFAULTS = BillingSettings(version=0, auto_finalize_grace_hours=None)
FIELDS = ("auto_finalize_grace_hours",)


def billing_settings_current() -> BillingSettings:
    """The latest version, or the defaults (no auto-finalization) when none was ever stored."""
    return BillingSettings.objects.order_by("-version").first() or DEFAULTS


def billing_settings_history(limit: int = 20) -> list[BillingSettings]:
    return list(BillingSettings.objects.select_related("created_by").order_by("-version")[:limit])


def billing_settings_update(
    *, actor, auto_finalize_grace_hours: int | None, reason: str = "", expected_version: int | None = None
) -> BillingSettings:
    """Append a new version with these values. ``expected_version`` (the version the form or client
    read) makes a change based on settings someone else has since changed a 409 instead of silently
    overwriting theirs. Nothing is stored (and nothing audited) when nothing changes."""
    errors = grace_hours_errors(auto_finalize_grace_hours)
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    try:
        with transaction.atomic():
            current = BillingSettings.objects.select_for_update().order_by("-version").first() or DEFAULTS
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"The billing settings changed since you read them (version {expected_version} → "
                    f"{current.version}); reload and try again."
                )
            if current.auto_finalize_grace_hours == auto_finalize_grace_hours:
                return current
            user = actor if getattr(actor, "is_authenticated", False) else None
            version = BillingSettings.objects.create(
                version=current.version + 1,
                auto_finalize_grace_hours=auto_finalize_grace_hours,
                reason=(reason or "")[:300],
                created_by=user,
                created_by_label=user.get_username() if user else str(actor or "system")[:150],
            )
            audit_record(
                actor=actor,
                action=AuditAction.BILLING_SETTINGS_CHANGED,
                obj=version,
                changes={
                    "version": version.version,
                    "auto_finalize_grace_hours": {
                        "from": current.auto_finalize_grace_hours,
                        "to": auto_finalize_grace_hours,
                    },
                    "reason": version.reason,
                },
            )
            return version
    except IntegrityError as exc:  # two first versions at once (nothing to lock yet): the other won
        raise Conflict("The billing settings were changed at the same moment; reload and try again.") from exc


def hours_text(hours: int | None) -> str:
    """A grace period for people: ``Off``, ``At once``, ``72 hours (3 days)``, ``1 hour``."""
    if hours is None:
        return "Off"
    if hours == 0:
        return "At once"
    days, rest = divmod(hours, 24)
    if days and not rest:
        return f"{hours} hours ({days} day{'s' if days != 1 else ''})"
    return f"{hours} hour{'s' if hours != 1 else ''}"
