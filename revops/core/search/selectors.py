"""Reading the registry for a user: the global search's sections, the documents an exact number
names (the audit trail's filter) and human names for audit references. Reads only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from revops.core.search.query import Query, parse
from revops.core.search.registry import DocumentTrail, Hit, labeller, providers, resolvers
from revops.roles import AREAS, can_read, can_write

MIN_TEXT = 2  # words shorter than this match nothing (a number matches from one digit)


@dataclass
class Section:
    key: str
    label: str
    hits: list[Hit]


def search(*, user, text: str | None, limit: int = 6) -> tuple[Query, list[Section]]:
    """The sections of records matching TEXT that USER's roles may open, exact number matches first.
    Links that change something are dropped for roles that cannot make the change."""
    query = parse(text)
    if not query.is_number and len(query.text) < MIN_TEXT:
        return query, []
    sections = []
    for provider in providers():
        if not can_read(user, provider.area):
            continue
        hits = provider.find(query, limit)
        if not hits:
            continue
        writer = can_write(user, provider.area)
        for hit in hits:
            hit.read_only = not writer and bool(AREAS[provider.area][1])  # nobody writes the trail
            hit.links = [
                link
                for link in hit.links
                if (writer or not link.write) and (link.area is None or can_read(user, link.area))
            ]
        hits.sort(key=lambda h: not h.exact)  # stable: each provider's own order within
        sections.append(Section(provider.key, provider.label, hits[:limit]))
    return query, sections


def document_trails(*, user, text: str | None) -> list[DocumentTrail]:
    """The documents whose number is exactly TEXT (an invoice, credit note or draft reference, a
    contract number, a customer's external id) and that USER's roles may read."""
    query = parse(text)
    if not query.text:
        return []
    found = []
    for resolve in resolvers():
        found.extend(t for t in resolve(query) if can_read(user, t.area))
    return found


def reference_labels(refs) -> dict[tuple[str, str], str]:
    """{(object_type, object_id): human name} for the references a labeller is registered for, one
    query per object type (lists stay free of N+1)."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for object_type, object_id in refs:
        by_type[object_type].append(str(object_id))
    names = {}
    for object_type, ids in by_type.items():
        label = labeller(object_type)
        if label is None:
            continue
        for object_id, name in label(sorted(set(ids))).items():
            names[(object_type, object_id)] = name
    return names
