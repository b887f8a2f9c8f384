"""The global search (revops.core.search, billing.search): exact number matching — a number is a
document's number, never an internal id — draft references, and each role seeing only what it may
open (read-only for the auditor)."""

from __future__ import annotations

from datetime import date

import pytest

from revops.core.search.query import parse
from revops.core.search.selectors import document_trails, search
from tests.billing.factories import ContractFactory, InvoiceFactory
from tests.revops.factories import UserFactory

pytestmark = pytest.mark.django_db


def titles(sections) -> dict[str, list[str]]:
    return {s.key: [h.title for h in s.hits] for s in sections}


def test_a_search_text_is_read_as_a_number_only_when_it_is_one():
    assert (parse("INV-000352").prefix, parse("INV-000352").sequence) == ("INV", 352)
    assert parse(" 352 ").bare_number and parse("#000352").sequence == 352
    assert (parse("d-000353").prefix, parse("D353").sequence) == ("D", 353)
    assert not parse("Acme").is_number and parse("Acme").text == "Acme"
    assert not parse("3530x").is_number


@pytest.fixture
def book():
    """Two invoices finalized in the reverse order of their drafting: INV-…01 is the record with the
    higher internal id, so typing that id must not find it."""
    from billing.invoicing.lifecycle import invoice_finalize

    contract = ContractFactory(customer__name="Acme Rockets", customer__external_id="acme-rockets")
    january = InvoiceFactory(contract=contract, billing_date=date(2026, 1, 1))
    february = InvoiceFactory(contract=contract, billing_date=date(2026, 2, 1))
    march = InvoiceFactory(contract=contract, billing_date=date(2026, 3, 1))  # stays a draft
    from django.db import transaction

    with transaction.atomic():
        february = invoice_finalize(invoice=february, actor=None, issue_date=date(2026, 2, 1))
    with transaction.atomic():
        january = invoice_finalize(invoice=january, actor=None, issue_date=date(2026, 2, 1))
    return {"contract": contract, "first": february, "second": january, "draft": march}


def test_a_bare_number_is_that_invoice_number_never_the_record_with_that_internal_id(book):
    auditor = UserFactory(role="auditor")
    first = book["first"]  # numbered ...01, internal id > 1
    assert first.sequence == 1 and first.pk != 1

    _, by_id = search(user=auditor, text=str(first.pk))
    assert first.number not in titles(by_id).get("invoices", [])
    assert not any(first.number in t.label for t in document_trails(user=auditor, text=str(first.pk)))

    _, by_number = search(user=auditor, text="1")
    assert titles(by_number)["invoices"] == [first.number]
    _, full = search(user=auditor, text=first.number.lower())
    assert titles(full)["invoices"] == [first.number]
    assert titles(full)["audit"] == [f"Audit trail of {first.number}"]


def test_a_draft_has_its_own_reference_that_is_never_an_invoice_number(book):
    finance = UserFactory(role="finance")
    draft, first = book["draft"], book["first"]
    assert draft.draft_reference == f"D-{draft.pk:06d}" and str(draft) == draft.draft_reference

    _, found = search(user=finance, text=draft.draft_reference)
    assert titles(found)["invoices"] == [draft.draft_reference]
    # A finalized invoice keeps its draft reference: found by it, shown by its number.
    _, was_draft = search(user=finance, text=first.draft_reference)
    hit = next(s for s in was_draft if s.key == "invoices").hits[0]
    assert hit.title == first.number and f"finalized from draft {first.draft_reference}" in hit.subtitle


def test_contracts_customers_and_trails_by_number_and_name(book):
    auditor = UserFactory(role="auditor")
    contract = book["contract"]
    _, found = search(user=auditor, text=contract.number)
    assert titles(found)["contracts"] == [contract.number]
    _, by_name = search(user=auditor, text="rockets")
    assert titles(by_name)["customers"] == ["Acme Rockets"]
    trail = document_trails(user=auditor, text=book["second"].number)
    assert [t.number for t in trail] == [book["second"].number]
    assert ("billing.invoice", str(book["second"].pk)) in trail[0].refs


def test_the_auditor_gets_read_only_results_and_a_writer_its_actions(book):
    auditor, finance = UserFactory(role="auditor"), UserFactory(role="finance")
    number = book["first"].number
    _, seen_by_auditor = search(user=auditor, text=number)
    _, seen_by_finance = search(user=finance, text=number)
    audit_hit = seen_by_auditor[0].hits[0]
    finance_hit = seen_by_finance[0].hits[0]
    assert audit_hit.read_only and not finance_hit.read_only
    assert [link.label for link in audit_hit.links] == ["Audit trail"]
    assert [link.label for link in finance_hit.links] == ["Record payment", "Audit trail"]


def test_nobody_sees_what_their_role_cannot_open(book, monkeypatch):
    from revops import roles

    nobody = UserFactory()  # no role
    assert search(user=nobody, text=book["first"].number)[1] == []
    assert document_trails(user=nobody, text=book["first"].number) == []
    # An area a role may not read drops its section and the links into it.
    monkeypatch.setitem(roles.AREAS, "billing", (frozenset({roles.FINANCE}), frozenset({roles.FINANCE})))
    monkeypatch.setitem(roles.AREAS, "audit", (frozenset({roles.FINANCE}), frozenset()))
    pricing = UserFactory(role="pricing")
    _, sections = search(user=pricing, text=book["first"].number)
    assert "invoices" not in titles(sections) and "audit" not in titles(sections)
    _, contracts = search(user=pricing, text=book["contract"].number)
    assert all(link.area != "audit" for s in contracts for h in s.hits for link in h.links)


# --- the pages ------------------------------------------------------------------------------------


def client_for(role: str):
    from django.test import Client

    client = Client()
    client.force_login(UserFactory(role=role))
    return client


def test_the_search_page_and_the_palette_list_what_matches(book):
    number = book["first"].number
    page = client_for("auditor").get("/search/", {"q": number}).content.decode()
    assert number in page and "view only" in page and "Record payment" not in page
    assert f"/compliance/audit/?ref={number}" in page
    palette = client_for("finance").get("/search/", {"q": number, "palette": "1"}).content.decode()
    assert 'role="option"' in palette and number in palette and "<html" not in palette


def test_the_audit_trail_filters_by_a_document_number_never_by_an_internal_id(book):
    from revops.core.audit.models import AuditEvent

    auditor = client_for("auditor")
    first = book["first"]
    by_id = auditor.get("/compliance/audit/", {"ref": str(first.pk)}).content.decode()
    assert f"Trail of <strong>Invoice {first.number}" not in by_id
    shown = set(
        AuditEvent.objects.filter(object_type="billing.invoice", object_id=str(first.pk)).values_list(
            "seq", flat=True
        )
    )
    assert not any(f'<td class="num">{seq}</td>' in by_id for seq in shown)

    by_number = auditor.get("/compliance/audit/", {"ref": first.number}).content.decode()
    assert f"Trail of <strong>Invoice {first.number} · Acme Rockets</strong>" in by_number
    assert all(f'<td class="num">{seq}</td>' in by_number for seq in shown)
    assert "Invoice finalized" in by_number and "{&#x27;" not in by_number  # a table, never a dict


def test_the_invoice_list_finds_an_invoice_by_its_number_whatever_its_status(book):
    finance = client_for("finance")
    first, second = book["first"], book["second"]
    html = finance.get("/invoices/", {"number": first.number}).content.decode()
    assert first.number in html and second.number not in html
    drafts = finance.get("/invoices/", {"number": book["draft"].draft_reference}).content.decode()
    assert book["draft"].draft_reference in drafts and first.number not in drafts


def test_success_messages_name_the_customer_next_to_the_number(book):
    finance = client_for("finance")
    draft = book["draft"]
    asked = finance.post(f"/invoices/{draft.pk}/finalize/").content.decode()
    assert f"Finalize draft {draft.draft_reference} for Acme Rockets?" in asked  # the confirmation
    response = finance.post(f"/invoices/{draft.pk}/finalize/", {"confirm": "1"}, follow=True)
    draft.refresh_from_db()
    text = response.content.decode()
    assert f"Invoice {draft.number} of Acme Rockets finalized (was draft {draft.draft_reference})" in text
