"""The files of the evidence pack, one builder each, registered in the order the pack lists them:
the policy in force, the revenue records of the period (SSP book, allocations, schedules, journal,
rollforward), then its controls (approvals, audit trail and signed checkpoints, exceptions)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, Sum
from django.utils import timezone

from compliance.evidence.registry import CSV_CHUNK_ROWS, EvidenceFile, Pack, csv_file, evidence_file
from compliance.evidence.rollforward import Rollforward
from revops.money import stored_sum


def _accounting_doc():
    return settings.BASE_DIR / "docs" / "accounting.md"


@evidence_file("policy.json")
def policy(pack: Pack) -> EvidenceFile:
    """The settings and the penny policy in force (its document's hash)."""
    from revrec.models import AccountingPeriod

    accounting_doc = _accounting_doc()
    document = {
        "period": pack.period,
        "generated_at": timezone.now(),
        "legal_entity": settings.CONCORD["LEGAL_ENTITY"],
        "rounding": "ROUND_HALF_UP to the currency minor unit, once per document line",
        "allocation": "relative SSP, largest remainder; residual with range check",
        "recognition_methods": ["ratable_daily", "ratable_monthly", "point_in_time", "usage", "milestone"],
        "period_status": AccountingPeriod.objects.filter(period=pack.period)
        .values_list("status", flat=True)
        .first()
        or "open",
        "penny_policy_sha256": hashlib.sha256(accounting_doc.read_bytes()).hexdigest()
        if accounting_doc.exists()
        else None,
    }
    return EvidenceFile(json.dumps(document, cls=DjangoJSONEncoder, indent=2).encode())


@evidence_file("penny_policy.md")
def penny_policy(pack: Pack) -> EvidenceFile | None:
    """The accounting policy document itself, when the installation has it."""
    accounting_doc = _accounting_doc()
    return EvidenceFile(accounting_doc.read_bytes()) if accounting_doc.exists() else None


@evidence_file("ssp_versions.csv")
def ssp_versions(pack: Pack) -> EvidenceFile:
    """Every SSP book entry in effect before the period ends."""
    from revrec.models import SSPEntry

    ssp = (
        SSPEntry.objects.filter(effective_from__lt=pack.end)
        .select_related("product")
        .order_by("product__code", "version")
    )
    return csv_file(
        (
            [
                e.product.code,
                e.currency,
                e.version,
                e.effective_from,
                e.ssp,
                e.ssp_low,
                e.ssp_high,
                e.method,
                e.status,
                e.evidence,
            ]
            for e in ssp.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        [
            "product",
            "currency",
            "version",
            "effective_from",
            "ssp",
            "ssp_low",
            "ssp_high",
            "method",
            "status",
            "evidence",
        ],
    )


@evidence_file("allocations.csv")
def allocations(pack: Pack) -> EvidenceFile:
    """The performance obligations started before the period ends, with their allocated prices: plain
    rows (the contract's number and the product's code joined in), in contract and obligation order."""
    from revrec.models import PerformanceObligation

    pos = PerformanceObligation.objects.filter(start__lt=pack.end)
    rows = pos.order_by("contract_id", "id").values_list(
        "contract__number",
        "key",
        "product__code",
        "currency",
        "ssp",
        "ssp_source",
        "fixed_price",
        "allocated_amount",
        "variable",
        "recognition",
        "start",
        "end",
        "status",
    )
    return csv_file(
        rows.iterator(chunk_size=CSV_CHUNK_ROWS),
        [
            "contract",
            "po",
            "product",
            "currency",
            "ssp",
            "ssp_source",
            "fixed_price",
            "allocated",
            "variable",
            "method",
            "start",
            "end",
            "status",
        ],
        controls={
            "rows": pos.count(),
            "allocated_total": str(stored_sum(pos.aggregate(s=Sum("allocated_amount"))["s"])),
        },
    )


@evidence_file("schedules.csv")
def schedules(pack: Pack) -> EvidenceFile:
    """The revenue schedules with a line in the period, one row per schedule line (every line of each
    such schedule, in the schedules' order), streamed as plain rows: no model instance per line.

    The order is RevenueSchedule's (obligation, newest version first) with the obligation's own order
    spelled out — PerformanceObligation orders by contract, and Contract newest first — so contracts
    come newest first, then their obligations, versions and each schedule's lines by period."""
    from revrec.models import RevenueSchedule, ScheduleLine

    found = RevenueSchedule.objects.filter(lines__period=pack.period).values("pk")
    lines = (
        ScheduleLine.objects.filter(schedule__in=found)
        .order_by(
            "-schedule__obligation__contract_id",
            "schedule__obligation_id",
            "-schedule__version",
            "schedule_id",
            "period",
            "id",
        )
        .values_list(
            "schedule__obligation__contract__number",
            "schedule__obligation__key",
            "schedule__version",
            "schedule__status",
            "schedule__treatment",
            "period",
            "amount",
            "posted_entry_id",
        )
    )
    return csv_file(
        lines.iterator(chunk_size=CSV_CHUNK_ROWS),
        ["contract", "po", "version", "status", "treatment", "period", "amount", "posted_entry"],
    )


@evidence_file("journal_entries.csv")
def journal_entries(pack: Pack) -> EvidenceFile:
    """The period's journal, one row per line, with debit and credit totals."""
    from revrec.models import JournalEntry, JournalLine

    lines = (
        JournalLine.objects.filter(entry__period=pack.period)
        .select_related("entry", "account", "product")
        .order_by("entry_id", "id")
    )
    totals = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    return csv_file(
        (
            [
                ln.entry_id,
                ln.entry.date,
                ln.entry.period,
                ln.entry.source,
                ln.entry.source_type,
                ln.entry.source_id,
                ln.entry.memo,
                ln.account.code,
                ln.debit,
                ln.credit,
                ln.entry.currency,
                ln.contract_id or "",
                ln.obligation_id or "",
            ]
            for ln in lines.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        [
            "entry",
            "date",
            "period",
            "source",
            "source_type",
            "source_id",
            "memo",
            "account",
            "debit",
            "credit",
            "currency",
            "contract",
            "po",
        ],
        controls={
            "rows": lines.count(),
            "entries": JournalEntry.objects.filter(period=pack.period).count(),
            "debits": str(stored_sum(totals["d"])),
            "credits": str(stored_sum(totals["c"])),
        },
    )


@evidence_file("rollforward.csv")
def rollforward_file(pack: Pack) -> EvidenceFile:
    """The deferred revenue rollforward per contract and in total, with whether each ties out; the
    contracts stream from one grouped query, the totals (and the controls) are added up as they pass."""
    controls: dict = {}

    def rows():
        roll = Rollforward()
        for r in roll.rows(pack.period):
            yield [r["contract"], r["opening"], r["billed"], r["recognized"], r["closing"], r["ties"]]
        totals = roll.totals()
        yield [
            "TOTAL",
            totals["opening"],
            totals["billed"],
            totals["recognized"],
            totals["closing"],
            totals["ties"],
        ]
        controls.update({k: str(v) for k, v in totals.items()})

    return csv_file(
        rows(), ["contract", "opening", "billed", "recognized", "closing", "ties_out"], controls=controls
    )


@evidence_file("approvals.csv")
def approvals(pack: Pack) -> EvidenceFile:
    """Sign-offs of a period happen after it ends (schedules, the close itself): every approval
    requested before the period ended or decided since it began, up to the time the pack is built."""
    from revops.core.approvals.models import Approval

    found = Approval.objects.filter(
        Q(requested_at__date__lt=pack.end) | Q(decided_at__date__gte=pack.start)
    ).select_related("requested_by", "decided_by")
    return csv_file(
        (
            [
                a.pk,
                a.kind,
                a.object_type,
                a.object_id,
                a.summary,
                a.status,
                a.requested_by.username if a.requested_by_id else "",
                a.requested_at,
                a.decided_by.username if a.decided_by_id else "",
                a.decided_at,
                a.comment,
            ]
            for a in found.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        [
            "id",
            "kind",
            "object_type",
            "object_id",
            "summary",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "comment",
        ],
    )


@evidence_file("audit_trail.csv")
def audit_trail(pack: Pack) -> EvidenceFile:
    """The trail from the period's start to the time the pack is built (its close happens afterwards),
    read as plain rows in chain order. Events from the first instant of the period's first day (in the
    current time zone): the same events as those of that day or later, found by the time index."""
    from revops.core.audit.models import AuditEvent

    since = timezone.make_aware(datetime.combine(pack.start, time.min))
    events = (
        AuditEvent.objects.filter(occurred_at__gte=since)
        .order_by("seq")
        .values_list(
            "seq",
            "occurred_at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "changes",
            "prev_hash",
            "hash",
        )
    )
    return csv_file(
        (
            (
                seq,
                occurred_at.isoformat(),
                actor,
                action,
                object_type,
                object_id,
                json.dumps(changes, sort_keys=True),
                prev_hash,
                digest,
            )
            for seq, occurred_at, actor, action, object_type, object_id, changes, prev_hash, digest in (
                events.iterator(chunk_size=CSV_CHUNK_ROWS)
            )
        ),
        ["seq", "occurred_at", "actor", "action", "object_type", "object_id", "changes", "prev_hash", "hash"],
    )


@evidence_file("audit_checkpoints.json")
def audit_checkpoints(pack: Pack) -> EvidenceFile:
    """Signed checkpoints of the chain head (HMAC-SHA256 under the chain key): every stored one (each
    period close, each `audit_anchor`) and one of the head as this pack is built. Kept with the pack,
    they let `verify_audit_chain --checkpoint` detect a later rewrite of the chain up to them."""
    from revops.core.audit.models import AuditCheckpoint
    from revops.core.audit.services import audit_checkpoint_document, checkpoint_document

    return EvidenceFile(
        json.dumps(
            {
                "algorithm": "HMAC-SHA256 under AUDIT_CHAIN_KEY; verify with manage.py verify_audit_chain "
                "--checkpoint audit_checkpoints.json",
                "checkpoints": [checkpoint_document(c) for c in AuditCheckpoint.objects.order_by("seq", "id")]
                + [audit_checkpoint_document(source=f"evidence_pack:{pack.period}")],
            },
            indent=2,
        ).encode()
    )


@evidence_file("exceptions.csv")
def exceptions(pack: Pack) -> EvidenceFile:
    """The compliance exceptions raised before the period ends, with how each was resolved."""
    from compliance.models import ComplianceException

    found = ComplianceException.objects.filter(created_at__date__lt=pack.end)
    return csv_file(
        (
            [
                x.pk,
                x.check_code,
                x.severity,
                x.object_type,
                x.object_id,
                x.explanation,
                x.status,
                x.resolution,
                x.resolved_at,
            ]
            for x in found.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        [
            "id",
            "check",
            "severity",
            "object_type",
            "object_id",
            "explanation",
            "status",
            "resolution",
            "resolved_at",
        ],
    )
