"""Allocation of the transaction price to performance obligations (accounting.md §4).

ASC 606 step 4 / IFRS 15.73–86, as a pure function over dataclasses and ``Decimal``:

* relative SSP (IFRS 15.76): price × SSP_i ÷ ΣSSP, exact (``Fraction``), then brought to the minor unit
  by **largest remainder** (ties → the earlier line), so allocations always sum exactly to the price;
* a discount with observable evidence that it belongs to a subset (IFRS 15.82) goes to that subset
  only; the other lines take their SSP;
* residual approach (IFRS 15.79(c)): one line gets price − ΣSSP(others), refused outside its range;
  a subset discount is allocated before the residual (IFRS 15.83);
* variable consideration (IFRS 15.84–86): a line's ``variable_amount`` joins the relative-SSP split
  (allocated by largest remainder over every line, on the same SSP basis as the fixed price) unless the
  line asserts ``variable_allocation="specific"`` **and** both criteria of IFRS 15.85 — the terms relate
  specifically to that obligation (85(a)) and allocating it there alone is consistent with the
  allocation objective given all terms (85(b)); then it goes to that line alone
  (ASC 606-10-32-40). ``specific`` without both criteria is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from revops.errors import DomainError
from revops.money import MoneyError, from_minor, minor_units, round_money

ZERO = Decimal(0)


class AllocationError(DomainError, ValueError):
    """No valid allocation exists; ``field`` is the input path (e.g. ``lines[2].ssp``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class AllocationLine:
    """One performance obligation: a point SSP, a range (low/high), or the residual line."""

    key: str
    ssp: Decimal | None = None
    ssp_low: Decimal | None = None
    ssp_high: Decimal | None = None
    residual: bool = False
    variable_amount: Decimal = ZERO
    variable_allocation: str = "relative"  # "relative" | "specific" (IFRS 15.85)
    relates_specifically: bool = False  # 15.85(a): the terms relate to this obligation's satisfaction
    consistent_with_objective: bool = False  # 15.85(b): consistent with the allocation objective


VARIABLE_ALLOCATIONS = ("relative", "specific")


@dataclass(frozen=True)
class Allocation:
    """``ssp`` is the SSP used (for the residual line, the residual amount); ``allocated`` is the fixed
    share plus the ``variable`` consideration allocated to the line (its own, when specific under
    IFRS 15.85, plus its relative-SSP share of the others), in the currency's minor unit."""

    key: str
    ssp: Decimal
    allocated: Decimal
    variable: Decimal = ZERO


def largest_remainder(total: int, weights: Sequence[Decimal | Fraction | int]) -> list[int]:
    """Split ``total`` integer minor units in proportion to ``weights`` (accounting.md §4).

    Exact shares are floored; the leftover units go one each to the largest fractional remainders,
    ties to the earlier position. The result always sums to ``total``.
    """
    if total < 0:
        raise AllocationError(f"Cannot allocate a negative amount ({total} minor units).")
    fractions = [Fraction(w) for w in weights]
    weight_sum = sum(fractions, Fraction(0))
    if total == 0:
        return [0] * len(fractions)
    if weight_sum <= 0 or any(f < 0 for f in fractions):
        raise AllocationError("Cannot allocate a positive amount when every SSP is zero.", field="lines")
    shares = [total * f / weight_sum for f in fractions]
    units = [math.floor(s) for s in shares]
    leftover = total - sum(units)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - units[i]), i))
    for i in order[:leftover]:
        units[i] += 1
    return units


# -- input checks ----------------------------------------------------------------------------------


def _decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise AllocationError(f"A decimal amount is required, got {value!r}.", field=field)
    result = Decimal(value)
    if not result.is_finite():
        raise AllocationError("The amount must be a finite number.", field=field)
    if result < 0:
        raise AllocationError(f"The amount cannot be negative ({result}).", field=field)
    return result


def _units(value: Decimal, currency: str, field: str) -> int:
    """An amount that must already be in the currency's minor unit, as an integer count."""
    scaled = value.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise AllocationError(
            f"{value} has more decimals than {currency.upper()} allows ({minor_units(currency)}).",
            field=field,
        )
    return int(scaled)


def _fmt(value: Decimal | Fraction, currency: str) -> str:
    exact = Fraction(value)
    scaled = exact * 10 ** minor_units(currency)
    if scaled.denominator == 1:
        return str(from_minor(int(scaled), currency))
    with localcontext(prec=50):
        return str(Decimal(exact.numerator) / Decimal(exact.denominator))


def _resolve_ssp(line: AllocationLine, i: int) -> Decimal | None:
    """The SSP used for a non-residual line: the point, or the midpoint of the range."""
    path = f"lines[{i}]"
    low = None if line.ssp_low is None else _decimal(line.ssp_low, f"{path}.ssp_low")
    high = None if line.ssp_high is None else _decimal(line.ssp_high, f"{path}.ssp_high")
    if low is not None and high is not None and low > high:
        raise AllocationError(f"ssp_low {low} is above ssp_high {high}.", field=f"{path}.ssp_low")
    if line.residual:
        if line.ssp is not None:
            raise AllocationError(
                "A residual line takes its SSP from the residual; give a range (ssp_low/ssp_high), not a point.",
                field=f"{path}.ssp",
            )
        return None
    if line.ssp is not None:
        point = _decimal(line.ssp, f"{path}.ssp")
        if (low is not None and point < low) or (high is not None and point > high):
            raise AllocationError(f"SSP {point} is outside its own range {low}–{high}.", field=f"{path}.ssp")
        return point
    if low is not None and high is not None:
        with localcontext(prec=50):
            return (low + high) / 2
    if low is not None or high is not None:
        missing = "ssp_high" if high is None else "ssp_low"
        raise AllocationError("A range-only SSP needs both ssp_low and ssp_high.", field=f"{path}.{missing}")
    raise AllocationError(
        f"'{line.key}' has no SSP: give ssp, a range (ssp_low and ssp_high) or mark it residual.",
        field=f"{path}.ssp",
    )


def _subset(
    discount_applies_to: Sequence[str] | None, index: dict[str, int], residual: int | None
) -> set[int]:
    if discount_applies_to is None:
        return set()
    if isinstance(discount_applies_to, str) or not discount_applies_to:
        raise AllocationError(
            "Name at least one line key the discount applies to.", field="discount_applies_to"
        )
    chosen: set[int] = set()
    for j, key in enumerate(discount_applies_to):
        if key not in index:
            raise AllocationError(f"Unknown line key '{key}'.", field=f"discount_applies_to[{j}]")
        if index[key] == residual:
            raise AllocationError(
                f"The residual line '{key}' cannot share a discount; the discount is allocated first.",
                field=f"discount_applies_to[{j}]",
            )
        chosen.add(index[key])
    return chosen


# -- allocation ------------------------------------------------------------------------------------


def allocate(
    *,
    currency: str,
    transaction_price: Decimal,
    lines: Sequence[AllocationLine],
    discount_applies_to: Sequence[str] | None = None,
    discount_amount: Decimal | None = None,
) -> list[Allocation]:
    """Allocate the fixed ``transaction_price`` to ``lines``; results are in input order (§4).

    Σ fixed shares == ``transaction_price`` exactly, and Σ variable shares == Σ ``variable_amount``:
    a line's variable consideration goes to it alone only under IFRS 15.85 (``variable_allocation``
    "specific" with both criteria asserted), otherwise it joins the relative-SSP split. ``discount_amount`` (the observable subset discount, IFRS 15.82(c)) is needed only
    when a subset discount is combined with a residual line, because it is allocated first (15.83).
    Raises :class:`AllocationError` (with ``field``) when no valid allocation exists.
    """
    try:
        minor_units(currency)
    except MoneyError as exc:
        raise AllocationError(str(exc), field="currency")
    price = _decimal(transaction_price, "transaction_price")
    price_units = _units(price, currency, "transaction_price")
    if not lines:
        raise AllocationError("At least one line is required.", field="lines")

    index: dict[str, int] = {}
    ssps: list[Decimal | None] = []
    variables: list[int] = []
    specific: set[int] = set()
    residual: int | None = None
    for i, line in enumerate(lines):
        if not isinstance(line, AllocationLine):
            raise AllocationError("Each line must be an AllocationLine.", field=f"lines[{i}]")
        if not isinstance(line.key, str) or not line.key:
            raise AllocationError("Each line needs a non-empty key.", field=f"lines[{i}].key")
        if line.key in index:
            raise AllocationError(f"Duplicate line key '{line.key}'.", field=f"lines[{i}].key")
        index[line.key] = i
        if line.residual:
            if residual is not None:
                raise AllocationError(
                    f"Only one line may use the residual approach ('{lines[residual].key}' already does).",
                    field=f"lines[{i}].residual",
                )
            residual = i
        ssps.append(_resolve_ssp(line, i))
        variable = _decimal(line.variable_amount, f"lines[{i}].variable_amount")
        variables.append(_units(variable, currency, f"lines[{i}].variable_amount"))
        if _specific(line, i):
            specific.add(i)

    subset = _subset(discount_applies_to, index, residual)
    if discount_amount is not None and not (subset and residual is not None):
        raise AllocationError(
            "discount_amount is only used when a subset discount is combined with a residual line.",
            field="discount_amount",
        )
    for i in specific:
        if i == residual or i in subset:
            raise AllocationError(
                f"'{lines[i].key}' takes its variable consideration alone (IFRS 15.85); it cannot also be "
                "the residual line or share a subset discount.",
                field=f"lines[{i}].variable_allocation",
            )
    fixed = [0] * len(lines)
    # A line whose variable consideration is allocated to it alone (15.85) weighs in the split of the
    # fixed price only with what its SSP leaves after that amount (never below zero), so the fixed
    # price goes to the other obligations as far as the variable amount already meets the line's SSP
    # (IFRS 15.86; IE Example 35 Case A: royalties of 1,000 meet Y's SSP, the fixed 800 goes to X).
    point_ssps = ssps
    ssps = [
        max(ZERO, ssp - from_minor(variables[i], currency)) if i in specific and ssp is not None else ssp
        for i, ssp in enumerate(ssps)
    ]
    priced = [i for i in range(len(lines)) if i != residual]
    others = [i for i in priced if i not in subset]
    members = sorted(subset)

    def at_ssp(i: int) -> int:  # a line allocated at its own SSP, rounded once (ROUND_HALF_UP)
        return _units(round_money(ssps[i], currency), currency, f"lines[{i}].ssp")

    if residual is None and not subset:
        for i, units in zip(priced, largest_remainder(price_units, [ssps[i] for i in priced]), strict=True):
            fixed[i] = units
    else:
        for i in others:
            fixed[i] = at_ssp(i)
        subset_ssp = sum((Fraction(ssps[i]) for i in members), Fraction(0))
        if residual is None and subset:
            total_ssp = sum((Fraction(ssps[i]) for i in priced), Fraction(0))
            if Fraction(price) > total_ssp:
                raise AllocationError(
                    f"The price {_fmt(price, currency)} is above the SSP total {_fmt(total_ssp, currency)}: "
                    "there is no discount to allocate to a subset.",
                    field="discount_applies_to",
                )
            pool = price_units - sum(fixed[i] for i in others)
            discount_shown = total_ssp - Fraction(price)
        elif subset:
            if discount_amount is None:
                raise AllocationError(
                    "A subset discount combined with a residual line needs discount_amount (IFRS 15.83).",
                    field="discount_amount",
                )
            discount = _decimal(discount_amount, "discount_amount")
            discount_shown = Fraction(discount)
            exact_pool = subset_ssp - discount_shown
            pool = (
                math.floor(exact_pool * 10 ** minor_units(currency) + Fraction(1, 2))
                if exact_pool >= 0
                else -1
            )
        else:
            pool = 0
        if subset:
            if pool < 0:
                keys = ", ".join(f"'{lines[i].key}'" for i in members)
                raise AllocationError(
                    f"The discount of {_fmt(discount_shown, currency)} cannot be absorbed by {keys} "
                    f"(SSP total {_fmt(subset_ssp, currency)}).",
                    field="discount_applies_to",
                )
            if pool > 0 and subset_ssp == 0:
                raise AllocationError(
                    "Every SSP in the discount subset is zero; it cannot absorb a positive amount.",
                    field="discount_applies_to",
                )
            for i, units in zip(members, largest_remainder(pool, [ssps[i] for i in members]), strict=True):
                fixed[i] = units
        if residual is not None:
            fixed[residual] = price_units - sum(fixed[i] for i in priced)
            _check_residual(lines[residual], residual, fixed[residual], currency)

    # Variable consideration (IFRS 15.84–86): a specific line keeps its own; the rest is split by
    # relative SSP over every line, on the same basis as the fixed price (the residual line weighs
    # its residual amount), by largest remainder, so Σ variable shares == Σ variable amounts.
    variable_units = [variables[i] if i in specific else 0 for i in range(len(lines))]
    variable_pool = sum(variables[i] for i in range(len(lines)) if i not in specific)
    if variable_pool:
        weights = [
            from_minor(fixed[i], currency) if i == residual else point_ssps[i] for i in range(len(lines))
        ]
        for i, units in enumerate(largest_remainder(variable_pool, weights)):
            variable_units[i] += units

    result = []
    for i, line in enumerate(lines):
        share = from_minor(fixed[i], currency)
        ssp = share if i == residual else point_ssps[i]
        variable = from_minor(variable_units[i], currency)
        result.append(Allocation(line.key, ssp, from_minor(fixed[i] + variable_units[i], currency), variable))
    return result


def _specific(line: AllocationLine, i: int) -> bool:
    """True when the line's variable consideration is allocated to it alone (IFRS 15.85): only when
    ``variable_allocation`` is "specific" and the user asserts both criteria; refused otherwise."""
    path = f"lines[{i}]"
    for name in ("relates_specifically", "consistent_with_objective"):
        if not isinstance(getattr(line, name), bool):
            raise AllocationError(f"{name} must be true or false.", field=f"{path}.{name}")
    if line.variable_allocation not in VARIABLE_ALLOCATIONS:
        raise AllocationError(
            "variable_allocation must be 'relative' or 'specific'.", field=f"{path}.variable_allocation"
        )
    if line.variable_allocation == "relative":
        return False
    if not line.relates_specifically:
        raise AllocationError(
            "Allocating variable consideration to one obligation alone needs IFRS 15.85(a): its terms "
            "relate specifically to this obligation's satisfaction (or outcome). Otherwise use 'relative'.",
            field=f"{path}.relates_specifically",
        )
    if not line.consistent_with_objective:
        raise AllocationError(
            "Allocating variable consideration to one obligation alone needs IFRS 15.85(b): the result is "
            "consistent with the allocation objective (15.73) given all the contract's terms. Otherwise "
            "use 'relative'.",
            field=f"{path}.consistent_with_objective",
        )
    return True


def split_change(
    *, currency: str, amount: Decimal, weights: Sequence[tuple[str, Decimal]]
) -> dict[str, Decimal]:
    """Allocate a change in the transaction price (``amount``, signed, in the minor unit) over
    ``weights`` — (key, SSP) pairs — by relative SSP and largest remainder (IFRS 15.88: on the same
    basis as at contract inception). A decrease is split like an increase, then negated, so the shares
    always sum exactly to ``amount``."""
    value = Decimal(amount)
    if not value.is_finite():
        raise AllocationError("The change must be a finite number.", field="amount")
    units = _units(abs(value), currency, "amount")
    if not weights:
        if units:
            raise AllocationError("There is no obligation to allocate the change to.", field="amount")
        return {}
    for key, weight in weights:
        _decimal(weight, f"weights[{key}]")
    shares = largest_remainder(units, [w for _k, w in weights])
    sign = -1 if value < 0 else 1
    return {key: from_minor(sign * share, currency) for (key, _w), share in zip(weights, shares, strict=True)}


def _check_residual(line: AllocationLine, i: int, units: int, currency: str) -> None:
    """Refuse a residual that is not positive or falls outside the line's SSP range (§4)."""
    amount = from_minor(units, currency)
    low, high = line.ssp_low, line.ssp_high
    shown = _fmt(amount, currency)
    if units <= 0:
        raise AllocationError(
            f"residual {shown} of '{line.key}' is not positive: the other lines' SSPs use up the price.",
            field=f"lines[{i}]",
        )
    if (low is not None and amount < low) or (high is not None and amount > high):
        lo = "…" if low is None else _fmt(low, currency)
        hi = "…" if high is None else _fmt(high, currency)
        raise AllocationError(
            f"residual {shown} is outside the SSP range {lo}–{hi} of '{line.key}'.", field=f"lines[{i}]"
        )
