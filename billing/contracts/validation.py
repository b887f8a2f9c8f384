"""Validation of contract input, with every error's JSON path (``lines[1].service_end``,
``changes[0].quantity``): the lines of a new contract (:func:`clean_lines`) and the changes of an
amendment (:func:`clean_amendment`).

Shared by the API and the UI through the services, so both say exactly the same thing about the same
mistake (the way ``billing.catalog.validation`` checks plans and charges). Reads the catalog, writes
nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from billing.contracts.models import Contract, ContractLine
from billing.contracts.terms import line_range
from billing.contracts.variable import FIELDS as VARIABLE_FIELDS
from billing.contracts.variable import clean_variable_terms
from billing.models import Plan
from revops.dates import RANGE_MESSAGE, date_in_range
from revops.errors import FieldError, ValidationFailed
from revops.fields import UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES
from revops.money import MoneyError, check_digits, minor_units, parse_decimal
from revops.parties.models import Product, RecognitionMethod

ZERO = Decimal(0)
BILLINGS = [c[0] for c in ContractLine.Billing.choices]
CHANGE_FIELDS = {"quantity", "plan", "unit_price", "amount", "end"}


def clean_decimal(
    value, path: str, errors: list[FieldError], *, minimum: Decimal | None = ZERO
) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = parse_decimal(value, field=path)
    except MoneyError as exc:
        errors.append(FieldError(path, str(exc).split(": ", 1)[-1]))
        return None
    if minimum is not None and number < minimum:
        errors.append(FieldError(path, f"Must be at least {minimum}."))
        return None
    return number


def clean_date(value, path: str, errors: list[FieldError]) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            errors.append(FieldError(path, "A date YYYY-MM-DD is required."))
            return None
    if not date_in_range(value):
        errors.append(FieldError(path, RANGE_MESSAGE))
        return None
    return value


LINE_FIELDS = {
    "key",
    "product",
    "plan",
    "quantity",
    "unit_price",
    "amount",
    "ssp",
    "ssp_reason",
    "recognition",
    "service_start",
    "service_end",
    "billing",
    "series",
    "ramp",
    *VARIABLE_FIELDS,
}
RAMP_STEP_FIELDS = {"from", "unit_price", "amount"}


def clean_ramp(
    raw: Any,
    path: str,
    errors: list[FieldError],
    *,
    billing: str,
    currency: str,
    lo: date | None,
    hi: date | None,
    unit_price: Decimal | None,
) -> list[dict]:
    """A line's ``ramp`` (accounting.md §5a): a list of ``{"from", "unit_price" | "amount"}`` steps on a
    recurring line, ascending, the first on the line's start (its service_start, or the contract
    start), every one inside its service period; a step's amount at the currency's minor unit. Returns
    the steps as stored (decimal strings), or [] with the errors appended."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        errors.append(FieldError(path, "Must be a list of steps ({from, unit_price | amount})."))
        return []
    if billing != "recurring":
        errors.append(FieldError(path, "Only a recurring line can ramp its price."))
        return []
    if unit_price is not None:
        errors.append(
            FieldError(
                path.rsplit(".", 1)[0] + ".unit_price",
                "A ramp line is priced by its steps: leave unit_price out (each step has its own).",
            )
        )
    places = minor_units(currency) if currency else None
    steps: list[dict] = []
    before = len(errors)
    previous: date | None = None
    for i, step in enumerate(raw):
        at = f"{path}[{i}]"
        if not isinstance(step, dict):
            errors.append(FieldError(at, "Must be an object {from, unit_price | amount}."))
            continue
        for name in sorted(set(step) - RAMP_STEP_FIELDS):
            errors.append(FieldError(f"{at}.{name}", "Unknown field (from, unit_price, amount)."))
        start = clean_date(step.get("from"), f"{at}.from", errors)
        if step.get("from") in (None, ""):
            errors.append(FieldError(f"{at}.from", "The date the step's price starts is required."))
        has_price, has_amount = step.get("unit_price") is not None, step.get("amount") is not None
        if has_price == has_amount:
            errors.append(
                FieldError(at, "Give the step a unit_price or an amount (per billing period), not both.")
            )
            continue
        price = clean_decimal(step.get("unit_price"), f"{at}.unit_price", errors)
        amount = clean_decimal(step.get("amount"), f"{at}.amount", errors)
        if price is not None:
            try:
                check_digits(price, max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES)
            except MoneyError as exc:
                errors.append(FieldError(f"{at}.unit_price", str(exc).split(": ", 1)[-1]))
        if amount is not None and places is not None and -amount.normalize().as_tuple().exponent > places:
            errors.append(
                FieldError(f"{at}.amount", f"{currency} amounts have at most {places} decimal place(s).")
            )
        if start is None:
            continue
        if i == 0 and lo is not None and start != lo:
            errors.append(
                FieldError(f"{at}.from", f"The first step starts on the line's start ({lo.isoformat()}).")
            )
        elif lo is not None and hi is not None and not lo <= start < hi:
            errors.append(FieldError(f"{at}.from", "Every step must start inside the line's service period."))
        elif previous is not None and start <= previous:
            errors.append(FieldError(f"{at}.from", "Steps must be in ascending order of their dates."))
        previous = start
        steps.append(
            {
                "from": start.isoformat(),
                **({"unit_price": format(price, "f")} if price is not None else {}),
                **({"amount": format(amount, "f")} if amount is not None else {}),
            }
        )
    return steps if len(errors) == before else []


TRIAL_FIELDS = {"trial_days", "trial_price"}  # a new contract's lines only (billing.contracts.trials)


def clean_lines(
    lines: Any,
    *,
    currency: str,
    start: date | None,
    end: date | None,
    prefix: str = "lines",
    existing_keys: set[str] | None = None,
    single: bool = False,
    trials: bool = False,
) -> tuple[list[dict], list[FieldError]]:
    """``single``: ``lines`` wraps one line given as an object (an amendment's ``add``), so its errors
    are on ``prefix.field``, not ``prefix[0].field``. ``trials``: a line may carry ``trial_days`` and
    ``trial_price`` (a new contract's lines), kept raw in the cleaned line for
    :func:`billing.contracts.trials.plan_trials`."""
    allowed = LINE_FIELDS | TRIAL_FIELDS if trials else LINE_FIELDS
    errors: list[FieldError] = []
    if not isinstance(lines, list):
        return [], [FieldError(prefix, "Must be a list of lines.")]
    products = {
        p.code: p
        for p in Product.objects.filter(code__in=[ln.get("product") for ln in lines if isinstance(ln, dict)])
    }
    plans = {
        p.code: p
        for p in Plan.objects.filter(code__in=[ln.get("plan") for ln in lines if isinstance(ln, dict)])
    }
    cleaned, keys = [], set(existing_keys or ())
    for i, raw in enumerate(lines):
        path = prefix if single else f"{prefix}[{i}]"
        if not isinstance(raw, dict):
            errors.append(FieldError(path, "Must be an object."))
            continue
        for name in sorted(set(raw) - allowed):
            errors.append(FieldError(f"{path}.{name}", "Unknown field."))
        key = raw.get("key")
        if not key or not isinstance(key, str):
            errors.append(FieldError(f"{path}.key", "A line key is required (e.g. 'platform')."))
        elif key in keys:
            errors.append(FieldError(f"{path}.key", f"Duplicate line key '{key}'."))
        keys.add(key)
        product = products.get(raw.get("product"))
        if product is None:
            errors.append(FieldError(f"{path}.product", f"Unknown product '{raw.get('product')}'."))
        plan = None
        if raw.get("plan"):
            plan = plans.get(raw["plan"])
            if plan is None:
                errors.append(FieldError(f"{path}.plan", f"Unknown plan '{raw['plan']}'."))
            elif plan.currency != currency:
                errors.append(
                    FieldError(
                        f"{path}.plan", f"The plan is priced in {plan.currency}, the contract in {currency}."
                    )
                )
            elif not plan.versions.filter(status="published").exists():
                errors.append(FieldError(f"{path}.plan", "The plan has no published version yet."))
        quantity = clean_decimal(raw.get("quantity", 1), f"{path}.quantity", errors)
        unit_price = clean_decimal(raw.get("unit_price"), f"{path}.unit_price", errors)
        amount = clean_decimal(raw.get("amount"), f"{path}.amount", errors)
        ssp = clean_decimal(raw.get("ssp"), f"{path}.ssp", errors)
        billing = raw.get("billing") or (
            "recurring" if plan or raw.get("plan") else ("one_time" if amount is not None else "recurring")
        )
        if billing not in BILLINGS:
            errors.append(FieldError(f"{path}.billing", f"Must be one of: {', '.join(BILLINGS)}."))
        recognition = raw.get("recognition") or ""
        if recognition and recognition not in RecognitionMethod.values:
            errors.append(
                FieldError(
                    f"{path}.recognition", f"Unknown method; one of {', '.join(RecognitionMethod.values)}."
                )
            )
        if billing == "recurring" and not raw.get("plan") and unit_price is None and not raw.get("ramp"):
            errors.append(
                FieldError(
                    f"{path}.unit_price", "A recurring line without a plan needs a unit_price per period."
                )
            )
        if billing == "one_time" and amount is None and unit_price is None:
            errors.append(FieldError(f"{path}.amount", "A one-time line needs an amount (or a unit_price)."))
        if billing == "usage" and not raw.get("plan"):
            errors.append(FieldError(f"{path}.plan", "A usage line needs a plan with metered charges."))
        series = raw.get("series")
        if series is not None and not isinstance(series, bool):
            errors.append(FieldError(f"{path}.series", "Must be true or false."))
            series = None
        s_start = clean_date(raw.get("service_start"), f"{path}.service_start", errors)
        s_end = clean_date(raw.get("service_end"), f"{path}.service_end", errors)
        lo, hi = s_start or start, s_end or end
        if (
            start
            and end
            and ((s_start and not start <= s_start < end) or (s_end and not start < s_end <= end))
        ):
            errors.append(
                FieldError(
                    f"{path}.service_start"
                    if s_start and not start <= s_start < end
                    else f"{path}.service_end",
                    "The service period must lie within the contract term.",
                )
            )
        elif lo and hi and hi <= lo:
            errors.append(FieldError(f"{path}.service_end", "The service period must end after it starts."))
        variable = clean_variable_terms(
            raw, path, errors, billing=billing, recognition=recognition or getattr(product, "recognition", "")
        )
        ramp = clean_ramp(
            raw.get("ramp"),
            f"{path}.ramp",
            errors,
            billing=billing,
            currency=currency,
            lo=lo,
            hi=hi,
            unit_price=unit_price,
        )
        cleaned.append(
            {
                **variable,
                "key": key,
                "product": product,
                "plan": plan,
                "billing": billing,
                "quantity": quantity if quantity is not None else Decimal(1),
                "unit_price": unit_price,
                "amount": amount,
                "ssp": ssp,
                "ssp_reason": raw.get("ssp_reason", "") or "",
                "recognition": recognition,
                "service_start": s_start,
                "service_end": s_end,
                "series": series,
                "ramp": ramp,
                **({f: raw[f] for f in TRIAL_FIELDS if raw.get(f) not in (None, "")} if trials else {}),
            }
        )
    return cleaned, errors


def raise_if_invalid(errors: list[FieldError]) -> None:
    """One ValidationFailed carrying every error (its message the error's own when there is one)."""
    if errors:
        raise ValidationFailed(
            errors[0].message if len(errors) == 1 else f"{len(errors)} fields are invalid.", errors=errors
        )


@dataclass(frozen=True)
class AmendmentTerms:
    """A checked amendment: what :func:`billing.contracts.services.amend.contract_amend` applies."""

    effective_date: date
    end_date: date  # the contract's end after the amendment: extended, or as it was
    changes: list[dict]  # every change as given, in order (``add`` ones too: see ``additions``)
    additions: list[dict]  # the added lines, cleaned (:func:`clean_lines`)
    plans: dict[str, Plan]  # the plans the changes name, by code


def clean_amendment(
    *,
    contract: Contract,
    lines: dict[str, ContractLine],
    effective_date: Any,
    changes: Any,
    end_date: Any = None,
) -> tuple[AmendmentTerms | None, list[FieldError]]:
    """Check an amendment of CONTRACT, whose current LINES (by key) it changes:
    ``{"line": key, "quantity"|"plan"|"unit_price"|"amount"|"end": ...}``, ``{"add": Line}``,
    ``{"remove": key}``, and an ``end_date`` extending the term. Returns the terms to apply (None when
    anything is wrong) and every error found; one change per line, the effective date within the term,
    a term only ever extended, a one-time amount at the currency's minor unit."""
    errors: list[FieldError] = []
    eff = clean_date(effective_date, "effective_date", errors)
    if eff and not contract.start_date <= eff < contract.end_date:
        errors.append(FieldError("effective_date", "The effective date must lie within the contract term."))
    old_end = contract.end_date
    new_end = clean_date(end_date, "end_date", errors) or old_end
    if new_end < old_end:
        errors.append(
            FieldError("end_date", "An amendment can only extend the term; end the contract with terminate.")
        )
    if not isinstance(changes, list) or (not changes and new_end == old_end):
        errors.append(FieldError("changes", "List at least one change (or extend the term with end_date)."))
        changes = []
    plans = {
        p.code: p
        for p in Plan.objects.filter(code__in=[c.get("plan") for c in changes if isinstance(c, dict)])
    }
    additions: list[dict] = []
    seen: dict[str, int] = {}
    places = minor_units(contract.currency)
    for i, change in enumerate(changes):
        path = f"changes[{i}]"
        if not isinstance(change, dict):
            errors.append(FieldError(path, "Must be an object."))
            continue
        if "add" in change:
            cleaned, errs = clean_lines(
                [change["add"]],
                currency=contract.currency,
                start=contract.start_date,
                end=new_end,
                prefix=f"{path}.add",
                existing_keys=set(lines),
                single=True,
            )
            errors.extend(errs)
            for added in cleaned:
                if added["ramp"] and added["service_start"] is None:
                    errors.append(
                        FieldError(
                            f"{path}.add.service_start",
                            "An added ramp line needs its service_start (the date of its first step).",
                        )
                    )
            additions.extend(cleaned)
            continue
        key = change.get("line") or change.get("remove")
        line = lines.get(key) if isinstance(key, str) else None
        if line is None or (eff and line_range(line, contract)[1] <= eff):
            errors.append(FieldError(f"{path}.line", f"No line '{key}' in service on the effective date."))
            continue
        if key in seen:
            field = "remove" if "remove" in change else "line"
            errors.append(
                FieldError(
                    f"{path}.{field}",
                    f"Line '{key}' is already changed by changes[{seen[key]}]; one change per line "
                    "per amendment (put all of its fields in one change).",
                )
            )
            continue
        seen[key] = i
        if line.ramp and "remove" not in change:
            errors.append(
                FieldError(
                    f"{path}.line",
                    f"Line '{key}' is a ramp: its steps are one transaction price (accounting.md §5a); "
                    f'an amendment can end it ({{"remove": "{key}"}}) and add a new line, not change it.',
                )
            )
            continue
        unknown = set(change) - CHANGE_FIELDS - {"line", "remove"}
        for field in sorted(unknown):
            errors.append(
                FieldError(
                    f"{path}.{field}",
                    "Unknown change field (quantity, plan, unit_price, amount, end, add, remove).",
                )
            )
        if "amount" in change and line.billing != ContractLine.Billing.ONE_TIME:
            errors.append(FieldError(f"{path}.amount", "Only a one-time line has an amount to change."))
        if "amount" in change:
            amount = clean_decimal(change.get("amount"), f"{path}.amount", errors)
            if change.get("amount") in (None, ""):
                errors.append(FieldError(f"{path}.amount", "An amount is required."))
            elif amount is not None and -amount.as_tuple().exponent > places:
                errors.append(
                    FieldError(
                        f"{path}.amount",
                        f"{contract.currency} amounts have at most {places} decimal place(s).",
                    )
                )
        if "end" in change:
            line_end = clean_date(change["end"], f"{path}.end", errors)
            if line_end and eff and not (eff < line_end <= new_end):
                errors.append(
                    FieldError(
                        f"{path}.end",
                        "The new service end must fall after the effective date "
                        "and within the (extended) contract term.",
                    )
                )
        if "plan" in change and change["plan"] not in plans:
            errors.append(FieldError(f"{path}.plan", f"Unknown plan '{change['plan']}'."))
        elif "plan" in change and plans[change["plan"]].currency != contract.currency:
            errors.append(FieldError(f"{path}.plan", "The new plan is priced in another currency."))
        quantity = clean_decimal(change.get("quantity"), f"{path}.quantity", errors)
        if "quantity" in change and "remove" not in change and change.get("quantity") in (None, ""):
            errors.append(FieldError(f"{path}.quantity", "A quantity is required."))
        elif quantity is not None and quantity == 0 and "remove" not in change:
            errors.append(
                FieldError(
                    f"{path}.quantity",
                    f'Must be more than 0; to end the line use {{"remove": "{key}"}}.',
                )
            )
        clean_decimal(change.get("unit_price"), f"{path}.unit_price", errors)
    if errors:
        return None, errors
    return AmendmentTerms(
        effective_date=eff, end_date=new_end, changes=changes, additions=additions, plans=plans
    ), errors
