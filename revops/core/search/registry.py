"""The search registry: apps add providers (records of one kind matching a query) and document
resolvers (an exact document number → the audit references that make up its trail).

A provider names the area a role must read to see its results at all; a hit's links that change
something are marked ``write`` and shown only to roles that may write that area, so an auditor gets
read-only results and nobody sees what their role cannot open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from revops.core.search.query import Query


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    write: bool = False  # changes something: shown to roles that write the provider's area
    area: str | None = None  # another area the link opens (the audit trail): shown to its readers


@dataclass
class Hit:
    title: str  # what people call it: "INV-000352", "C-00042", "Acme GmbH"
    url: str
    subtitle: str = ""  # the customer next to the number, status, amount
    badge: str = ""  # a status, shown as a badge
    exact: bool = False  # the number typed is this record's number
    links: list[Link] = field(default_factory=list)
    read_only: bool = False  # set by the reader: the user's roles cannot change it


@dataclass(frozen=True)
class Provider:
    key: str
    label: str  # the section title: "Invoices"
    area: str  # revops.roles area a role must read to see these results
    find: Callable[[Query, int], list[Hit]]
    order: int = 100


@dataclass(frozen=True)
class DocumentTrail:
    """One document an exact number names, with the (object_type, object_id) references whose audit
    events make up its trail (an invoice: itself, its payments and credit notes)."""

    label: str  # "Invoice INV-000352 · Acme GmbH"
    number: str  # "INV-000352"
    area: str
    refs: tuple[tuple[str, str], ...]


Resolver = Callable[[Query], list[DocumentTrail]]
# (object_type, [object ids]) -> {object_id: "Invoice INV-000352"}: human names for audit rows.
Labeller = Callable[[list[str]], dict[str, str]]

_PROVIDERS: dict[str, Provider] = {}
_RESOLVERS: list[tuple[str, Resolver]] = []
_LABELLERS: dict[str, Labeller] = {}


def register_provider(provider: Provider) -> None:
    _PROVIDERS[provider.key] = provider


def register_resolver(key: str, resolver: Resolver) -> None:
    if key not in {k for k, _ in _RESOLVERS}:
        _RESOLVERS.append((key, resolver))


def register_labeller(object_type: str, labeller: Labeller) -> None:
    _LABELLERS[object_type] = labeller


def providers() -> list[Provider]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.key))


def resolvers() -> list[Resolver]:
    return [r for _, r in _RESOLVERS]


def labeller(object_type: str) -> Labeller | None:
    return _LABELLERS.get(object_type)
