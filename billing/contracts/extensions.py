"""Extension point: apps further up the dependency chain (revrec) add fields to a contract's API
representation without billing importing them (house style: dependency direction)."""

from __future__ import annotations

from collections.abc import Callable

_EXTENDERS: list[Callable[[object, dict], None]] = []


def register_contract_payload_extender(fn: Callable[[object, dict], None]) -> None:
    if fn not in _EXTENDERS:
        _EXTENDERS.append(fn)


def extend_contract_payload(contract, payload: dict) -> dict:
    for fn in _EXTENDERS:
        fn(contract, payload)
    return payload


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
