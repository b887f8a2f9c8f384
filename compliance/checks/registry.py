"""Check registry: each check is a function returning findings; the runner turns them into exceptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    object_type: str
    object_id: str
    explanation: str
    details: dict = field(default_factory=dict)
    severity: str | None = None  # default: the check's severity


@dataclass(frozen=True)
class Check:
    code: str
    title: str
    invariant: str  # what must hold (shown to users and auditors)
    severity: str
    run: Callable[[], list[Finding]]


CHECKS: dict[str, Check] = {}


def check(code: str, *, title: str, invariant: str, severity: str = "high"):
    def decorator(fn: Callable[[], list[Finding]]):
        CHECKS[code] = Check(code, title, invariant, severity, fn)
        return fn

    return decorator


def order_checks(codes: tuple[str, ...]) -> None:
    """Put the registry in the order ``codes`` names (the order a run raises exceptions and the
    controls page lists the checks); a check ``codes`` does not name keeps its place after them."""
    rank = {code: i for i, code in enumerate(codes)}
    ordered = sorted(CHECKS.items(), key=lambda item: rank.get(item[0], len(codes)))
    CHECKS.clear()
    CHECKS.update(ordered)


def ref(obj) -> tuple[str, str]:
    return f"{obj._meta.app_label}.{obj._meta.model_name}", str(obj.pk)
