"""A contract line's variable-consideration and progress terms (accounting.md §10a): validated on the
way in, and the amount they add to the transaction price. Kept apart from the line's price terms."""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.models import ContractLine
from revops.errors import FieldError
from revops.money import MoneyError, parse_decimal
from revops.parties.models import RecognitionMethod

ZERO = Decimal(0)
FIELDS = (
    "variable_method",
    "variable_estimate",
    "variable_constrained",
    "variable_allocation",
    "relates_specifically",
    "consistent_with_objective",
    "progress_measure",
    "progress_places",
)
OVER_TIME = (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)


def _amount(raw: dict, name: str, path: str, errors: list[FieldError]) -> Decimal | None:
    value = raw.get(name)
    if value is None:
        return None
    try:
        amount = parse_decimal(value, field=name)
    except MoneyError as exc:
        errors.append(FieldError(f"{path}.{name}", str(exc).split(": ", 1)[-1]))
        return None
    if amount < 0:
        errors.append(FieldError(f"{path}.{name}", "Cannot be negative."))
        return None
    return amount


def _flag(raw: dict, name: str, path: str, errors: list[FieldError]) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        errors.append(FieldError(f"{path}.{name}", "Must be true or false."))
        return False
    return value


def clean_variable_terms(
    raw: dict, path: str, errors: list[FieldError], *, billing: str, recognition: str
) -> dict:
    """The line's variable-consideration estimate (15.50–58), its allocation (15.84–86) and its measure
    of progress (15.39–45, B18–B19). ``recognition`` is the line's effective method."""
    method = raw.get("variable_method") or ""
    if method not in ContractLine.VariableMethod.values:
        errors.append(
            FieldError(f"{path}.variable_method", "Must be 'expected_value' or 'most_likely_amount'.")
        )
        method = ""
    estimate = _amount(raw, "variable_estimate", path, errors)
    constrained = _amount(raw, "variable_constrained", path, errors)
    if method and (estimate is None or constrained is None):
        missing = "variable_estimate" if estimate is None else "variable_constrained"
        errors.append(
            FieldError(
                f"{path}.{missing}",
                "Variable consideration needs the estimate and the constrained amount included in the "
                "transaction price (what is highly probable not to reverse, IFRS 15.56).",
            )
        )
    elif not method and (estimate is not None or constrained is not None):
        errors.append(
            FieldError(
                f"{path}.variable_method",
                "Say how the estimate was made: 'expected_value' or 'most_likely_amount' (IFRS 15.53).",
            )
        )
    elif method and constrained > estimate:
        errors.append(
            FieldError(
                f"{path}.variable_constrained",
                f"The constrained amount {constrained} cannot exceed the estimate {estimate} (IFRS 15.56).",
            )
        )
    if method and billing == ContractLine.Billing.USAGE:
        errors.append(
            FieldError(
                f"{path}.variable_method",
                "A usage line is recognized as invoiced; estimate variable consideration on a fixed line.",
            )
        )
    allocation = raw.get("variable_allocation") or ContractLine.VariableAllocation.RELATIVE
    if allocation not in ContractLine.VariableAllocation.values:
        errors.append(FieldError(f"{path}.variable_allocation", "Must be 'relative' or 'specific'."))
        allocation = ContractLine.VariableAllocation.RELATIVE
    relates = _flag(raw, "relates_specifically", path, errors)
    consistent = _flag(raw, "consistent_with_objective", path, errors)
    if allocation == ContractLine.VariableAllocation.SPECIFIC:
        if not relates:
            errors.append(
                FieldError(
                    f"{path}.relates_specifically",
                    "Allocating variable consideration to this obligation alone needs IFRS 15.85(a): its "
                    "terms relate specifically to this obligation's satisfaction (or outcome).",
                )
            )
        elif not consistent:
            errors.append(
                FieldError(
                    f"{path}.consistent_with_objective",
                    "Allocating variable consideration to this obligation alone needs IFRS 15.85(b): it is "
                    "consistent with the allocation objective given all the contract's terms.",
                )
            )
    measure = raw.get("progress_measure") or ContractLine.ProgressMeasure.OUTPUT
    if measure not in ContractLine.ProgressMeasure.values:
        errors.append(FieldError(f"{path}.progress_measure", "Must be 'output' or 'input'."))
        measure = ContractLine.ProgressMeasure.OUTPUT
    if measure == ContractLine.ProgressMeasure.INPUT and (
        recognition not in OVER_TIME or billing == ContractLine.Billing.USAGE
    ):
        errors.append(
            FieldError(
                f"{path}.progress_measure",
                "Input-method progress applies to an obligation satisfied over time (a ratable method).",
            )
        )
    places = raw.get("progress_places")
    if places is not None and (
        isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 6
    ):
        errors.append(FieldError(f"{path}.progress_places", "A whole number of decimals from 0 to 6."))
        places = None
    return {
        "variable_method": method,
        "variable_estimate": estimate if method else None,
        "variable_constrained": constrained if method else None,
        "variable_allocation": allocation,
        "relates_specifically": relates,
        "consistent_with_objective": consistent,
        "progress_measure": measure,
        "progress_places": places,
    }


def variable_terms(revisions) -> ContractLine | None:
    """The revision of one line key that carries its variable-consideration terms (the latest that has
    any): amendments that re-price a line do not drop an estimate made on an earlier revision."""
    carrying = [ln for ln in revisions if ln.variable_method]
    return max(carrying, key=lambda ln: ln.revision) if carrying else None


def variable_in_price(lines) -> Decimal:
    """Σ of the constrained variable consideration over a contract's line keys (once per key)."""
    by_key: dict[str, list[ContractLine]] = {}
    for line in lines:
        by_key.setdefault(line.key, []).append(line)
    total = ZERO
    for revisions in by_key.values():
        terms = variable_terms(revisions)
        if terms is not None and terms.variable_constrained:
            total += terms.variable_constrained
    return total
