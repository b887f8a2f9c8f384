"""Check runs and exceptions: open, resolve (with the fix, verified by re-running the check) or waive
(with an approver's sign-off). A waiver covers the finding as it was approved: when the same record is
found again with other amounts (``details``), the waiver lapses (audited) and the exception reopens as a
new open exception."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from compliance.checks import CHECKS
from compliance.checks.registry import in_chunks
from compliance.models import CheckRun, ComplianceException
from revops.core.approvals.models import Approval
from revops.core.approvals.registry import register_approval_kind
from revops.core.approvals.services import approval_rebind, approval_request
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, InvalidTransition, ValidationFailed
from revops.jsonsafe import jsonable

log = logging.getLogger(__name__)
WAIVER = "exception_waiver"


def _run_one(code: str):
    try:
        return CHECKS[code].run(), None
    except Exception as exc:  # a crashing check is itself a finding, never a silent pass
        log.exception("check %s crashed", code)
        return None, exc


def _known_exceptions(code: str, keys: list[tuple[str, str]]):
    """The open exception and the latest waived one of each finding's record, read a few hundred
    records at a time (two queries per batch, not two per finding)."""
    opened: dict[tuple[str, str], ComplianceException] = {}
    waived: dict[tuple[str, str], ComplianceException] = {}
    for batch in in_chunks(keys, 500):
        wanted = set(batch)
        ids = {object_id for _, object_id in batch}
        mine = ComplianceException.objects.filter(check_code=code, object_id__in=ids)
        for exc in mine.filter(status=ComplianceException.Status.OPEN).order_by("-id"):
            key = (exc.object_type, exc.object_id)
            if key in wanted:
                opened.setdefault(key, exc)
        for exc in mine.filter(status=ComplianceException.Status.WAIVED).order_by("-id"):
            key = (exc.object_type, exc.object_id)
            if key in wanted:
                waived.setdefault(key, exc)
    return opened, waived


def _resolve_stale(exc: ComplianceException, run: CheckRun, seen: set) -> None:
    """An open exception the run no longer finds is resolved by it (audited)."""
    if (exc.object_type, exc.object_id) in seen:
        return
    exc.status = ComplianceException.Status.RESOLVED
    exc.resolved_at = timezone.now()
    exc.resolution = f"No longer detected by check run #{run.pk}."
    exc.save(update_fields=["status", "resolved_at", "resolution"])
    audit_record(
        actor="compliance", action=AuditAction.EXCEPTION_RESOLVED, obj=exc, changes={"by_run": run.pk}
    )


@transaction.atomic
def compliance_run(*, trigger: str = "manual", actor=None, codes: list[str] | None = None) -> CheckRun:
    from revops.core.audit.models import AuditChainHead

    # What the run sees: every audited change committed up to this head (a writer still holding the
    # head's lock commits later, under a higher sequence number).
    head = AuditChainHead.objects.filter(id=1).values_list("last_seq", flat=True).first()
    run = CheckRun.objects.create(
        trigger=trigger,
        started_by=actor if getattr(actor, "pk", None) else None,
        audit_seq=head or 0,
    )
    results = {}
    for code in codes or list(CHECKS):
        check = CHECKS[code]
        findings, error = _run_one(code)
        if error is not None:
            from compliance.checks import Finding

            findings = [
                Finding(
                    "compliance.checkrun",
                    str(run.pk),
                    f"The check itself failed: {error}",
                    severity="critical",
                )
            ]
        unique = {}
        for finding in findings:
            unique.setdefault((finding.object_type, str(finding.object_id)), finding)
        seen = set(unique)
        opened, waivers = _known_exceptions(code, list(unique))
        still_seen = []  # open exceptions found again as they were: marked seen in bulk
        for key, finding in unique.items():
            details = jsonable(finding.details)
            waived = waivers.get(key)
            existing = opened.get(key)
            if waived is not None and existing is None:
                if waived.details == details:
                    continue  # the waiver covers exactly this finding
                # The waiver was given for other amounts: it lapses, and the finding is open again.
                audit_record(
                    actor="compliance",
                    action=AuditAction.EXCEPTION_WAIVER_LAPSED,
                    obj=waived,
                    changes={"by_run": run.pk, "details": {"from": waived.details, "to": details}},
                )
            if existing:
                if (existing.explanation, existing.details) == (finding.explanation, details):
                    still_seen.append(existing.pk)
                    continue
                existing.last_seen_run = run
                existing.explanation = finding.explanation
                existing.details = details
                existing.save(update_fields=["last_seen_run", "explanation", "details"])
                # A waiver asked for the finding as it was: void it and ask again for this one.
                approval_rebind(kind=WAIVER, obj=existing, actor="compliance", reason="The finding changed.")
                continue
            exc = ComplianceException.objects.create(
                check_code=code,
                severity=finding.severity or check.severity,
                object_type=key[0],
                object_id=key[1],
                explanation=finding.explanation,
                details=details,
                first_run=run,
                last_seen_run=run,
            )
            audit_record(
                actor="compliance",
                action=AuditAction.EXCEPTION_OPENED,
                obj=exc,
                changes={
                    "check": code,
                    "object": f"{key[0]}:{key[1]}",
                    "severity": exc.severity,
                    **({"reopens": waived.pk} if waived is not None else {}),
                },
            )
        for batch in in_chunks(still_seen, 500):
            ComplianceException.objects.filter(pk__in=batch).update(last_seen_run=run)
        stale = ComplianceException.objects.filter(
            check_code=code, status=ComplianceException.Status.OPEN
        ).exclude(last_seen_run=run)
        for batch in in_chunks(list(stale.values_list("pk", flat=True)), 500):
            for exc in ComplianceException.objects.filter(pk__in=batch).order_by("-id"):
                _resolve_stale(exc, run, seen)
        results[code] = {"title": check.title, "findings": len(seen), "status": "fail" if seen else "pass"}
    run.results = results
    run.finished_at = timezone.now()
    run.save(update_fields=["results", "finished_at"])
    audit_record(
        actor=actor or "compliance",
        action=AuditAction.COMPLIANCE_RUN,
        obj=run,
        changes={
            "trigger": trigger,
            "failing": sorted(c for c, r in results.items() if r["status"] == "fail"),
        },
    )
    return run


@transaction.atomic
def exception_resolve(*, exception: ComplianceException, comment: str, actor=None) -> ComplianceException:
    """Resolve with the fix: the check is re-run and must no longer find the fault."""
    exc = ComplianceException.objects.select_for_update().get(pk=exception.pk)
    if exc.status != ComplianceException.Status.OPEN:
        raise InvalidTransition(f"This exception is already {exc.status}.")
    if not comment.strip():
        raise ValidationFailed("Describe the fix.", field="comment")
    findings, error = _run_one(exc.check_code)
    if error is None and any(
        (f.object_type, str(f.object_id)) == (exc.object_type, exc.object_id) for f in findings
    ):
        raise Conflict("The check still fails for this record; fix the cause first, or request a waiver.")
    exc.status = ComplianceException.Status.RESOLVED
    exc.resolution = comment
    exc.resolved_at = timezone.now()
    exc.resolved_by = actor if getattr(actor, "pk", None) else None
    exc.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])
    audit_record(actor=actor, action=AuditAction.EXCEPTION_RESOLVED, obj=exc, changes={"comment": comment})
    return exc


@transaction.atomic
def exception_waive_request(*, exception: ComplianceException, comment: str, actor=None) -> Approval:
    exc = ComplianceException.objects.select_for_update().get(pk=exception.pk)
    if exc.status != ComplianceException.Status.OPEN:
        raise InvalidTransition(f"This exception is already {exc.status}.")
    if not comment.strip():
        raise ValidationFailed("Say why the exception may be waived.", field="comment")
    return approval_request(
        kind=WAIVER,
        obj=exc,
        requested_by=actor,
        summary=f"Waive {exc.check_code} on {exc.object_type}:{exc.object_id}: {comment}",
        payload={"comment": comment},
        replace_pending=True,  # asked again with another comment: the pending request is voided
    )


def _waived(approval: Approval, user) -> None:
    exc = ComplianceException.objects.select_for_update().get(pk=approval.object_id)
    exc.status = ComplianceException.Status.WAIVED
    exc.resolution = f"Waived: {approval.payload.get('comment', '')} (approved by {user}: {approval.comment})"
    exc.resolved_at = timezone.now()
    exc.resolved_by = user
    exc.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])
    audit_record(actor=user, action=AuditAction.EXCEPTION_WAIVED, obj=exc, changes={"approval": approval.pk})


def _waiver_content(approval: Approval) -> dict:
    """Bound into the request's hash (with the payload's comment): the finding being waived."""
    exc = ComplianceException.objects.get(pk=approval.object_id)
    return {
        "check": exc.check_code,
        "object": f"{exc.object_type}:{exc.object_id}",
        "severity": exc.severity,
        "explanation": exc.explanation,
        "details": exc.details,
        "status": exc.status,
    }


def register() -> None:
    register_approval_kind(WAIVER, on_approved=_waived, label="Exception waiver", content=_waiver_content)
