"""The evidence pack of a period: one zip an auditor can check with standard tools.

Files (CSV unless noted): policy.json (settings and the penny policy in force), ssp_versions,
allocations, schedules, journal_entries, rollforward (with control totals), approvals, audit_trail,
exceptions, audit_checkpoints.json (signed head checkpoints of the audit chain), and MANIFEST.sha256 (``sha256sum -c MANIFEST.sha256`` verifies every file) plus
manifest.json (row counts, sums, hashes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, Sum
from django.utils import timezone

from revops.formatting import safe_cell
from revops.money import stored_sum

ZERO = Decimal(0)


def _csv(rows: list[list], header: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
    return buffer.getvalue().encode()


def build_evidence_pack(*, period: str) -> tuple[bytes, dict]:
    from compliance.models import Approval, AuditEvent, ComplianceException
    from revrec.models import (
        AccountingPeriod,
        JournalEntry,
        JournalLine,
        PerformanceObligation,
        RevenueSchedule,
        SSPEntry,
    )
    from revrec.services.periods import period_bounds

    start, end = period_bounds(period)
    files: dict[str, bytes] = {}
    controls: dict[str, dict] = {}
    accounting_doc = settings.BASE_DIR / "docs" / "accounting.md"
    policy = {
        "period": period,
        "generated_at": timezone.now(),
        "legal_entity": settings.CONCORD["LEGAL_ENTITY"],
        "rounding": "ROUND_HALF_UP to the currency minor unit, once per document line",
        "allocation": "relative SSP, largest remainder; residual with range check",
        "recognition_methods": ["ratable_daily", "ratable_monthly", "point_in_time", "usage", "milestone"],
        "period_status": AccountingPeriod.objects.filter(period=period)
        .values_list("status", flat=True)
        .first()
        or "open",
        "penny_policy_sha256": hashlib.sha256(accounting_doc.read_bytes()).hexdigest()
        if accounting_doc.exists()
        else None,
    }
    files["policy.json"] = json.dumps(policy, cls=DjangoJSONEncoder, indent=2).encode()
    if accounting_doc.exists():
        files["penny_policy.md"] = accounting_doc.read_bytes()

    ssp = (
        SSPEntry.objects.filter(effective_from__lt=end)
        .select_related("product")
        .order_by("product__code", "version")
    )
    files["ssp_versions.csv"] = _csv(
        [
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
            for e in ssp
        ],
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
    pos = (
        PerformanceObligation.objects.filter(start__lt=end)
        .select_related("contract", "product")
        .order_by("contract_id", "id")
    )
    files["allocations.csv"] = _csv(
        [
            [
                p.contract.number,
                p.key,
                p.product.code,
                p.currency,
                p.ssp,
                p.ssp_source,
                p.fixed_price,
                p.allocated_amount,
                p.variable,
                p.recognition,
                p.start,
                p.end,
                p.status,
            ]
            for p in pos
        ],
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
    )
    controls["allocations.csv"] = {
        "rows": pos.count(),
        "allocated_total": str(stored_sum(pos.aggregate(s=Sum("allocated_amount"))["s"])),
    }
    schedules = (
        RevenueSchedule.objects.filter(lines__period=period).distinct().select_related("obligation__contract")
    )
    sched_rows = []
    for s in schedules.prefetch_related("lines"):
        for ln in s.lines.all():
            sched_rows.append(
                [
                    s.obligation.contract.number,
                    s.obligation.key,
                    s.version,
                    s.status,
                    s.treatment,
                    ln.period,
                    ln.amount,
                    ln.posted_entry_id or "",
                ]
            )
    files["schedules.csv"] = _csv(
        sched_rows, ["contract", "po", "version", "status", "treatment", "period", "amount", "posted_entry"]
    )
    lines = (
        JournalLine.objects.filter(entry__period=period)
        .select_related("entry", "account", "product")
        .order_by("entry_id", "id")
    )
    files["journal_entries.csv"] = _csv(
        [
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
            for ln in lines
        ],
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
    )
    totals = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    controls["journal_entries.csv"] = {
        "rows": lines.count(),
        "entries": JournalEntry.objects.filter(period=period).count(),
        "debits": str(stored_sum(totals["d"])),
        "credits": str(stored_sum(totals["c"])),
    }
    roll = rollforward(period)
    files["rollforward.csv"] = _csv(
        [
            [r["contract"], r["opening"], r["billed"], r["recognized"], r["closing"], r["ties"]]
            for r in roll["by_contract"]
        ]
        + [["TOTAL", roll["opening"], roll["billed"], roll["recognized"], roll["closing"], roll["ties"]]],
        ["contract", "opening", "billed", "recognized", "closing", "ties_out"],
    )
    controls["rollforward.csv"] = {k: str(v) for k, v in roll.items() if k != "by_contract"}
    # Sign-offs of a period happen after it ends (schedules, the close itself): include every approval
    # requested before the period ended or decided since it began, up to the time the pack is built.
    approvals = Approval.objects.filter(
        Q(requested_at__date__lt=end) | Q(decided_at__date__gte=start)
    ).select_related("requested_by", "decided_by")
    files["approvals.csv"] = _csv(
        [
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
            for a in approvals
        ],
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
    # The trail from the period's start to the time the pack is built (its close happens afterwards).
    events = AuditEvent.objects.filter(occurred_at__date__gte=start).order_by("seq")
    files["audit_trail.csv"] = _csv(
        [
            [
                e.seq,
                e.occurred_at.isoformat(),
                e.actor_label,
                e.action,
                e.object_type,
                e.object_id,
                json.dumps(e.changes, sort_keys=True),
                e.prev_hash,
                e.hash,
            ]
            for e in events
        ],
        ["seq", "occurred_at", "actor", "action", "object_type", "object_id", "changes", "prev_hash", "hash"],
    )
    # Signed checkpoints of the chain head (HMAC-SHA256 under the chain key): every stored one (each
    # period close, each `audit_anchor`) and one of the head as this pack is built. Kept with the pack,
    # they let `verify_audit_chain --checkpoint` detect a later rewrite of the chain up to them.
    from compliance.audit import audit_checkpoint_document, checkpoint_document
    from compliance.models import AuditCheckpoint

    files["audit_checkpoints.json"] = json.dumps(
        {
            "algorithm": "HMAC-SHA256 under AUDIT_CHAIN_KEY; verify with manage.py verify_audit_chain "
            "--checkpoint audit_checkpoints.json",
            "checkpoints": [checkpoint_document(c) for c in AuditCheckpoint.objects.order_by("seq", "id")]
            + [audit_checkpoint_document(source=f"evidence_pack:{period}")],
        },
        indent=2,
    ).encode()
    exceptions = ComplianceException.objects.filter(created_at__date__lt=end)
    files["exceptions.csv"] = _csv(
        [
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
            for x in exceptions
        ],
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
    manifest = {"period": period, "generated_at": timezone.now(), "files": {}}
    for name, data in files.items():
        rows = max(data.count(b"\n") - 1, 0) if name.endswith(".csv") else None
        manifest["files"][name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "rows": rows,
            "controls": controls.get(name, {}),
        }
    sums = "".join(f"{meta['sha256']}  {name}\n" for name, meta in manifest["files"].items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
        archive.writestr("MANIFEST.sha256", sums)
    return buffer.getvalue(), manifest


def rollforward(period: str) -> dict:
    """Deferred revenue rollforward from the ledger: per contract, the contract balance (deferred
    credit minus unbilled debit) at the period's start and end, billed and recognized in between."""
    from revrec.models import JournalLine

    def by_contract(qs):
        out = {}
        for row in qs.values("contract_id").annotate(d=Sum("debit"), c=Sum("credit")):
            out[row["contract_id"]] = stored_sum(row["c"]) - stored_sum(row["d"])
        return out

    balance_roles = ["deferred", "unbilled"]
    opening = by_contract(
        JournalLine.objects.filter(account__role__in=balance_roles, entry__period__lt=period)
    )
    closing = by_contract(
        JournalLine.objects.filter(account__role__in=balance_roles, entry__period__lte=period)
    )
    billed = by_contract(
        JournalLine.objects.filter(account__role__in=balance_roles, entry__period=period).exclude(
            entry__source="recognition"
        )
    )
    recognized = by_contract(
        JournalLine.objects.filter(
            account__role__in=balance_roles, entry__period=period, entry__source="recognition"
        )
    )
    from revops.contracts.models import Contract

    numbers = dict(Contract.objects.filter(pk__in=set(closing) | set(opening)).values_list("pk", "number"))
    rows = []
    for cid in sorted(set(opening) | set(closing)):
        o, b, r, c = (
            opening.get(cid, ZERO),
            billed.get(cid, ZERO),
            -recognized.get(cid, ZERO),
            closing.get(cid, ZERO),
        )
        rows.append(
            {
                "contract": numbers.get(cid, cid),
                "opening": o,
                "billed": b,
                "recognized": r,
                "closing": c,
                "ties": o + b - r == c,
            }
        )
    total = {k: sum((row[k] for row in rows), ZERO) for k in ("opening", "billed", "recognized", "closing")}
    return {
        **total,
        "ties": total["opening"] + total["billed"] - total["recognized"] == total["closing"],
        "by_contract": rows,
    }
