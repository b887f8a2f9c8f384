"""Publishing a price version (issue 12 §3): a version never takes effect in a closed accounting period
(on or before the end of the latest closed one), and one that is back-dated (effective before today)
or that changes what existing contracts pay is published only once someone other than the requester
approves it (kind ``price_version_publish``; the impact view is the approver's preview). A draft
waiting for that approval cannot change or be discarded."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.catalog.services.guards import closed_period_errors, raise_invalid
from billing.models import PlanVersion
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, InvalidTransition, ValidationFailed

PUBLISH_KIND = "price_version_publish"


def publish_request_for(version: PlanVersion):
    """The pending ``price_version_publish`` request of a draft, or None."""
    from revops.core.approvals.models import Approval

    return Approval.objects.filter(
        kind=PUBLISH_KIND,
        object_type="billing.planversion",
        object_id=str(version.pk),
        status=Approval.Status.PENDING,
    ).first()


def refuse_if_awaiting_approval(version: PlanVersion, what: str) -> None:
    pending = publish_request_for(version)
    if pending is not None:
        raise InvalidTransition(
            f"Version {version.number} is waiting for an approver to publish it (request #{pending.pk}) "
            f"and cannot be {what}; the approver rejects it first if it must change."
        )


def version_content(version: PlanVersion) -> dict:
    """Exactly what publishing the version puts in force (the approval binds to its fingerprint)."""
    from billing.catalog.selectors import charge_payload

    charges = version.charges.select_related("product", "meter").order_by("position", "id")
    return {
        "plan": version.plan.code,
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "minimum_amount": None if version.minimum_amount is None else str(version.minimum_amount),
        "charges": [charge_payload(c) for c in charges],
    }


def content_fingerprint(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def _same_prices(a: dict, b: dict) -> bool:
    return a["charges"] == b["charges"] and a["minimum_amount"] == b["minimum_amount"]


def publish_reasons(version: PlanVersion, *, today: date | None = None) -> tuple[list[str], dict | None]:
    """Why publishing ``version`` needs an approver ([] when it may publish at once), and the impact
    view's result when existing contracts are on the plan.

    Back-dated (effective before today) always needs one. So does a version that changes what existing
    contracts pay: some contract line on the plan runs past the effective date and the version's prices
    differ from the version in force on that date (or the impact view shows a difference)."""
    from billing.catalog.impact import affected_contracts, version_impact
    from billing.catalog.selectors import published_versions

    today = today or timezone.localdate()
    reasons: list[str] = []
    if version.effective_from < today:
        reasons.append(
            f"back-dated: takes effect {version.effective_from:%Y-%m-%d}, before today ({today:%Y-%m-%d})"
        )
    affected = affected_contracts(version)
    impact = None
    if affected:
        content = version_content(version)
        earlier = [v for v in published_versions(version.plan) if v.effective_from <= version.effective_from]
        in_force = max(earlier, key=lambda v: v.effective_from) if earlier else None
        impact = version_impact(version=version, as_of=today)
        differs = any(row["delta"] != 0 for row in impact["customers"])
        if in_force is None or differs or not _same_prices(content, version_content(in_force)):
            reasons.append(
                f"changes what {len(affected)} existing contract{'s' if len(affected) != 1 else ''} "
                f"pay{'s' if len(affected) == 1 else ''} (see the impact view)"
            )
    return reasons, impact


@transaction.atomic
def plan_version_publish(*, version: PlanVersion, actor=None) -> PlanVersion:
    """Publish a draft, or — when it is back-dated or changes what existing contracts pay — open a
    ``price_version_publish`` request for an approver and leave the version a draft (see
    :func:`publish_request_for`). Never into a closed period."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    if version.is_published:
        raise InvalidTransition(f"Version {version.number} is already published.")
    if not version.charges.exists():
        raise ValidationFailed(
            "A version needs at least one charge before it can be published.", field="charges"
        )
    raise_invalid(closed_period_errors(version.effective_from))
    pending = publish_request_for(version)
    if pending is not None:
        return version  # already waiting for an approver
    reasons, impact = publish_reasons(version)
    if not reasons:
        return _publish(version, actor=actor)
    _request_publish(version, actor=actor, reasons=reasons, impact=impact)
    return version


def _request_publish(version: PlanVersion, *, actor, reasons: list[str], impact: dict | None):
    from revops.core.approvals.services import approval_request

    content = version_content(version)
    totals = impact["totals"] if impact else None
    payload = {
        **content,
        "fingerprint": content_fingerprint(content),
        "reasons": reasons,
        "impact": None
        if impact is None
        else {
            "customers": len(impact["customers"]),
            "old": str(totals["old"]),
            "new": str(totals["new"]),
            "difference": str(totals["delta"]),
            "as_of": impact["as_of"].isoformat(),
        },
    }
    approval = approval_request(
        kind=PUBLISH_KIND,
        obj=version,
        requested_by=actor,
        summary=f"Publish {version.plan.code} v{version.number} effective "
        f"{version.effective_from:%Y-%m-%d}: {'; '.join(reasons)}",
        payload=payload,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_VERSION_PUBLISH_REQUESTED,
        obj=version,
        changes={
            "plan": version.plan.code,
            "number": version.number,
            "effective_from": version.effective_from,
            "reasons": reasons,
            "approval": approval.pk,
            "fingerprint": payload["fingerprint"],
        },
    )
    return approval


def _publish(version: PlanVersion, *, actor, approval=None) -> PlanVersion:
    version.status = PlanVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    publisher = approval.requested_by if approval is not None else actor
    version.published_by = publisher if getattr(publisher, "pk", None) else None
    try:
        with transaction.atomic():
            version.save(update_fields=["status", "published_at", "published_by"])
    except IntegrityError:
        raise ValidationFailed(
            f"A published version already takes effect on {version.effective_from}.", field="effective_from"
        )
    changes = {
        "plan": version.plan.code,
        "number": version.number,
        "effective_from": version.effective_from,
    }
    if approval is not None:
        changes["approval"] = approval.pk
        changes["requested_by"] = approval.requested_by.username if approval.requested_by_id else None
    audit_record(actor=actor, action=AuditAction.PLAN_VERSION_PUBLISHED, obj=version, changes=changes)
    return version


def _publish_approved(approval, user) -> None:
    """Publish exactly what was approved: the draft must still match the payload's fingerprint."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=approval.object_id)
    if version.is_published:
        raise InvalidTransition(f"Version {version.number} is already published.")
    if content_fingerprint(version_content(version)) != approval.payload.get("fingerprint"):
        raise Conflict(
            f"Version {version.number} no longer matches what was submitted for approval; reject this "
            "request and ask again."
        )
    raise_invalid(closed_period_errors(version.effective_from))
    _publish(version, actor=user, approval=approval)


def _publish_rejected(approval, user) -> None:
    audit_record(
        actor=user,
        action=AuditAction.PLAN_VERSION_PUBLISH_REJECTED,
        object_type=approval.object_type,
        object_id=approval.object_id,
        changes={"approval": approval.pk, "comment": approval.comment},
    )


def register() -> None:
    from revops.core.approvals.registry import register_approval_kind

    register_approval_kind(
        PUBLISH_KIND,
        on_approved=_publish_approved,
        on_rejected=_publish_rejected,
        label="Price version publication",
        content=_publish_content,
    )


def _publish_content(approval) -> dict:
    """What approving publishes: the draft's current charges, minimum and date (bound by the engine)."""
    version = PlanVersion.objects.select_related("plan").filter(pk=approval.object_id).first()
    return version_content(version) if version is not None else {"missing": True}
