"""Trials on a new contract (issue 17, accounting.md §12): what ``trial_days`` / ``trial_price`` on the
contract or on a line do to the lines that are stored.

- The paid line's service starts on the conversion date (its start + the trial days): billing and
  revenue recognition read the line's range as for any line, so no trial day is billed or recognized,
  and the first paid period is prorated from the conversion date by days (§3).
- A priced trial is a one-time line of its own (``<key>-trial``, or ``trial`` for the whole contract):
  billed at the trial's start, recognized ratably over the trial days, with the trial price as its SSP
  (its own contract: allocated on its own, ``revrec.services.obligations.allocate_specs``).
- A contract-level trial applies to every line that starts before its conversion date; a line may
  carry its own trial instead (not both).

Reads and checks only; :func:`billing.contracts.services.lifecycle.contract_create` stores the lines and
the ``ContractTrial`` rows this returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing.contracts.validation import clean_decimal
from revops.errors import FieldError
from revops.money import minor_units
from revops.parties.models import RecognitionMethod

MAX_TRIAL_DAYS = 366
TRIAL_SSP_REASON = "Trial price: the trial is its own contract (accounting.md §12)"


@dataclass(frozen=True)
class TrialTerms:
    days: int
    price: Decimal | None  # None: a free trial


@dataclass(frozen=True)
class PlannedTrial:
    line_key: str  # "" for the whole contract
    trial_line_key: str  # "" for a free trial
    days: int
    price: Decimal | None
    starts_on: date
    converts_on: date


def clean_trial_terms(
    days, price, *, path: str, currency: str, errors: list[FieldError]
) -> TrialTerms | None:
    """``trial_days`` (1–366) and an optional ``trial_price`` (at least 0, at the currency's minor unit;
    0 is a free trial). None when no trial is asked (or it is invalid: the errors say why)."""
    prefix = f"{path}." if path else ""
    if days in (None, ""):
        if price not in (None, ""):
            errors.append(FieldError(f"{prefix}trial_price", "A trial price needs trial_days."))
        return None
    if isinstance(days, bool) or not isinstance(days, int | str) or not str(days).isdigit():
        errors.append(FieldError(f"{prefix}trial_days", "A whole number of days is required."))
        return None
    n = int(days)
    if not 1 <= n <= MAX_TRIAL_DAYS:
        errors.append(FieldError(f"{prefix}trial_days", f"Must be between 1 and {MAX_TRIAL_DAYS} days."))
        return None
    amount = clean_decimal(price, f"{prefix}trial_price", errors)
    places = minor_units(currency) if currency else 2
    if amount is not None and -amount.as_tuple().exponent > places:
        errors.append(
            FieldError(f"{prefix}trial_price", f"{currency} amounts have at most {places} decimal place(s).")
        )
        return None
    if price not in (None, "") and amount is None:
        return None  # clean_decimal said why
    return TrialTerms(days=n, price=amount if amount else None)


def _trial_line(key: str, product, price: Decimal, start: date, end: date) -> dict:
    return {
        "key": key,
        "product": product,
        "plan": None,
        "billing": "one_time",
        "quantity": Decimal(1),
        "unit_price": None,
        "amount": price,
        "ssp": price,
        "ssp_reason": TRIAL_SSP_REASON,
        "recognition": RecognitionMethod.RATABLE_DAILY,
        "service_start": start,
        "service_end": end,
        "series": False,
    }


def plan_trials(
    cleaned: list[dict],
    *,
    contract_trial: TrialTerms | None,
    start: date,
    end: date,
    currency: str,
    errors: list[FieldError],
) -> tuple[list[dict], list[PlannedTrial]]:
    """The lines to store (each paid line starting at its conversion, the priced trials' lines added)
    and the trials to record. ``cleaned`` are :func:`clean_lines` results with ``trials=True``."""
    lines: list[dict] = []
    trials: list[PlannedTrial] = []
    keys = {ln["key"] for ln in cleaned}
    extra: list[dict] = []
    converts = start + timedelta(days=contract_trial.days) if contract_trial else None
    if converts is not None and converts >= end:
        errors.append(FieldError("trial_days", "The trial must end before the contract does."))
        converts = None
    for i, raw in enumerate(cleaned):
        line = {k: v for k, v in raw.items() if k not in ("trial_days", "trial_price")}
        path = f"lines[{i}]"
        own = clean_trial_terms(
            raw.get("trial_days"), raw.get("trial_price"), path=path, currency=currency, errors=errors
        )
        lo, hi = line["service_start"] or start, line["service_end"] or end
        if own is not None and contract_trial is not None:
            errors.append(FieldError(f"{path}.trial_days", "The contract has a trial already; give it once."))
        elif own is not None:
            conv = lo + timedelta(days=own.days)
            if conv >= hi:
                errors.append(
                    FieldError(f"{path}.trial_days", "The trial must end before the line's service does.")
                )
            else:
                line["service_start"] = conv
                trial_key = ""
                if own.price is not None:
                    trial_key = f"{line['key']}-trial"
                    if trial_key in keys or len(trial_key) > 64:
                        errors.append(
                            FieldError(f"{path}.key", f"The trial's line key '{trial_key}' is taken.")
                        )
                    keys.add(trial_key)
                    extra.append(_trial_line(trial_key, line["product"], own.price, lo, conv))
                trials.append(
                    PlannedTrial(line["key"], trial_key, own.days, own.price, starts_on=lo, converts_on=conv)
                )
        elif converts is not None and lo < converts:
            if hi <= converts:
                errors.append(
                    FieldError(f"{path}.service_end", "The line would end during the contract's trial.")
                )
            line["service_start"] = converts
        lines.append(line)
    if contract_trial is not None and converts is not None:
        trial_key = ""
        if contract_trial.price is not None and lines:
            trial_key = "trial"
            if trial_key in keys:
                errors.append(FieldError("trial_price", "A line is keyed 'trial' already: rename it."))
            extra.append(_trial_line(trial_key, lines[0]["product"], contract_trial.price, start, converts))
        trials.append(PlannedTrial("", trial_key, contract_trial.days, contract_trial.price, start, converts))
    return lines + extra, trials
