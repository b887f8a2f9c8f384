"""Extension point: apps further up the dependency chain (revrec) add fields to a contract's API
representation without billing importing them (house style: dependency direction)."""

from __future__ import annotations

from collections.abc import Callable

_FIELDS: dict[str, Callable[[], object]] = {}


def register_contract_field(name: str, field: Callable[[], object]) -> None:
    """``field()`` makes a fresh read-only serializer field for the contract's API representation
    (``billing.contracts.representation.ContractOut.<name>``), reading the contract (``source="*"``),
    so the OpenAPI schema types what the app adds (revrec: ``performance_obligations``)."""
    _FIELDS[name] = field


def contract_fields() -> dict[str, Callable[[], object]]:
    return dict(_FIELDS)


_CHANGE_GUARDS: list[Callable[[object], None]] = []


def register_contract_change_guard(fn: Callable[[object], None]) -> None:
    """``fn(contract)`` raises a DomainError when the contract may not move to a new version now (revrec:
    a contract modification still waits for approval, accounting.md §10)."""
    if fn not in _CHANGE_GUARDS:
        _CHANGE_GUARDS.append(fn)


def check_contract_change(contract) -> None:
    """Called by the services that give a contract a new version (amend, terminate) before they do."""
    for fn in _CHANGE_GUARDS:
        fn(contract)


_PANELS: dict[str, Callable[[object], str]] = {}


def register_contract_panel(name: str, render: Callable[[object], str]) -> None:
    """``render(contract)`` returns a section of the contract page as HTML ("" to show nothing), so an
    app further up (revrec: a ramp deal's invoices vs revenue per step) shows on the contract page
    without billing importing it."""
    _PANELS[name] = render


def contract_panels(contract) -> list[str]:
    return [html for html in (render(contract) for render in _PANELS.values()) if html]
