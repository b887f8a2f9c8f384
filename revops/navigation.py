"""The UI's navigation: one registry, filtered by what the signed-in user's roles may read.

Each app adds its pages here when it ships them; nothing is listed before it exists."""

from __future__ import annotations

from dataclasses import dataclass

from revops.roles import ADMIN, can_read, roles_of


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    area: str
    icon: str = "•"
    admin_only: bool = False


@dataclass(frozen=True)
class NavSection:
    title: str
    items: tuple[NavItem, ...]


NAV: list[NavSection] = [
    NavSection("Overview", (NavItem("Dashboard", "dashboard", "jobs", "◧"),)),
    NavSection("Operations", (NavItem("Jobs", "jobs", "jobs", "⟳"),)),
    NavSection("Compliance", (NavItem("Audit trail", "audit-trail", "audit", "§"),)),
]


def nav_for(user) -> list[dict]:
    sections = []
    is_admin = ADMIN in roles_of(user)
    for section in NAV:
        items = [i for i in section.items if can_read(user, i.area) and (is_admin or not i.admin_only)]
        if items:
            sections.append({"title": section.title, "items": items})
    return sections


def register(section_title: str, *items: NavItem, before: str | None = None) -> None:
    """Add items to a section (created if missing, optionally placed before another section)."""
    for index, section in enumerate(NAV):
        if section.title == section_title:
            known = {i.url_name for i in section.items}
            NAV[index] = NavSection(
                section.title, section.items + tuple(i for i in items if i.url_name not in known)
            )
            return
    new = NavSection(section_title, tuple(items))
    if before:
        for index, section in enumerate(NAV):
            if section.title == before:
                NAV.insert(index, new)
                return
    NAV.append(new)
