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
