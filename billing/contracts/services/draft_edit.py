"""Edit a draft contract before it is submitted or activated (issue 16 §6): nothing is invoiced,
allocated or posted for a draft, so its terms and lines may change — checked exactly as at creation.
The change is recorded as the contract's next version (kind ``edited``, its full snapshot: the
history stays append-only) and audited with each term's old and new value. A contract that left the
draft state is refused: it changes by amendment."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from billing.contracts.models import Contract, ContractLine, ContractVersion
from billing.contracts.selectors import contract_snapshot
from billing.contracts.validation import clean_date, clean_lines, raise_if_invalid
from billing.contracts.value import contract_transaction_price
from billing.contracts.variable import FIELDS as VARIABLE_FIELDS
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, FieldError, InvalidTransition

# What a line keeps when an edit does not name it (the contract editor shows only the common columns):
# a line's SSP, recognition and variable-consideration terms are never dropped by an edit.
KEPT = ("ssp", "ssp_reason", "recognition", "series", "progress_measure", *VARIABLE_FIELDS)
TERMS = ("start_date", "end_date", "billing_anchor", "notes")


def _kept(line: ContractLine) -> dict:
    return {f: getattr(line, f) for f in KEPT if hasattr(line, f) and getattr(line, f) not in (None, "")}


def _same(before: dict, after: dict) -> bool:
    """Two snapshots alike, the transaction price compared as a number (120.0000 as stored = 120.00)."""
    price = "transaction_price"
    return {**before, price: None} == {**after, price: None} and Decimal(before[price]) == Decimal(
        after[price]
    )


def _lines_text(snapshot: dict) -> str:
    """The lines of a contract snapshot in a few words each (the audit's before and after)."""
    return "; ".join(
        f"{ln['key']}: {ln['product']}{' on ' + ln['plan'] if ln['plan'] else ''} × {ln['quantity']}"
        + (f" at {ln['unit_price']}" if ln["unit_price"] is not None else "")
        + (f" for {ln['amount']}" if ln["amount"] is not None else "")
        + (
            " ramping "
            + ", ".join(f"{st.get('unit_price') or st.get('amount')} from {st['from']}" for st in ln["ramp"])
            if ln.get("ramp")
            else ""
        )
        for ln in snapshot["lines"]
    )


@transaction.atomic
def contract_draft_update(
    *, contract: Contract, start_date, end_date, billing_anchor: str, notes: str, lines: list, actor=None
) -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status != Contract.Status.DRAFT:
        raise InvalidTransition(
            f"{contract.number} is {contract.get_status_display().lower()}: only a draft can be edited. "
            "Change it by an amendment."
        )
    if contract.trials.exists():  # its lines were planned from the trial (billing.contracts.trials)
        raise Conflict(
            f"{contract.number} starts with a trial, planned into its lines when it was created: "
            "create the contract again with the terms you want."
        )
    errors: list[FieldError] = []
    start = clean_date(start_date, "start_date", errors)
    end = clean_date(end_date, "end_date", errors)
    if start and end and end <= start:
        errors.append(
            FieldError("end_date", "The contract must end after it starts (end_date is exclusive).")
        )
    if billing_anchor not in Contract.BillingAnchor.values:
        errors.append(FieldError("billing_anchor", "Must be 'calendar' or 'anniversary'."))
    existing = {line.key: line for line in contract.lines.all()}
    merged = [
        {**_kept(existing[raw["key"]]), **raw}
        if isinstance(raw, dict) and raw.get("key") in existing
        else raw
        for raw in lines
    ]
    cleaned, line_errors = clean_lines(merged, currency=contract.currency, start=start, end=end)
    errors.extend(line_errors)
    if not cleaned and not line_errors:
        errors.append(FieldError("lines", "A contract needs at least one line."))
    raise_if_invalid(errors)
    before = contract_snapshot(contract)
    was = {t: getattr(contract, t) for t in TERMS} | {"transaction_price": contract.transaction_price}
    contract.start_date, contract.end_date, contract.billing_anchor, contract.notes = (
        start,
        end,
        billing_anchor,
        notes,
    )
    version = contract.version + 1
    unchanged = transaction.savepoint()
    contract.lines.all().delete()  # a draft's lines: nothing refers to them yet
    for position, line in enumerate(cleaned):
        ContractLine.objects.create(contract=contract, position=position, created_in_version=version, **line)
    contract.transaction_price = contract_transaction_price(contract)
    after = contract_snapshot(contract)
    if _same(before, after):  # nothing changed: no version, no audit event, the lines as they were
        transaction.savepoint_rollback(unchanged)
        contract.refresh_from_db()
        return contract
    transaction.savepoint_commit(unchanged)
    contract.version = version
    contract.save()
    ContractVersion.objects.create(
        contract=contract,
        version=version,
        effective_date=start,
        kind="edited",
        changes=[{"edited": "draft"}],
        snapshot=after,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    now = {t: getattr(contract, t) for t in TERMS} | {"transaction_price": contract.transaction_price}
    diff = {k: {"from": was[k], "to": v} for k, v in now.items() if was[k] != v}
    if before["lines"] != after["lines"]:
        diff["lines"] = {"from": _lines_text(before), "to": _lines_text(after)}
    audit_record(actor=actor, action=AuditAction.CONTRACT_DRAFT_EDITED, obj=contract, changes=diff)
    return contract
