"""Invoice PDFs are byte-stable: a stored PDF carries its SHA-256 and an invoice whose document was not
stored yet must render identically whenever it is rendered (worker, retry, download). These SHA-256
values were re-pinned deliberately when fpdf2 gave way to the direct writer (billing/documents/
pdfwriter.py, issue 15: ~0.5 ms instead of ~12 ms of CPU per invoice), and again when the documents
became customer-ready (issue 16 §9: service periods printed as stored with "(end exclusive)" as on the
pages, prorated fees explained as "22 of 31 days"), and again when the documents embedded Unicode
fonts (DejaVu Sans and Sans Bold, Droid Sans Fallback for CJK, as subsets with Identity-H encoding and
a ToUnicode CMap) instead of naming the built-in Helvetica with WinAnsi encoding: every document now
carries its font subsets, its text is written as glyph numbers, DejaVu's wider metrics move and wrap
the text differently, and names that used to print "?" or transliterated ("Osaka Zólc", "Lódz")
print as written. Documents stored before keep their bytes on disk and their recorded hash. Any change to a single output byte fails here, and each
case's text is read back from the PDF (what a customer reads, not just a hash).

The cases vary what the drawing branches on: one line, many lines with page breaks and the table
heading repeated, long wrapping descriptions, discount, tax, credits applied, a zero total, paid and
void invoices, non-ASCII names (Japanese, Polish; Greek, Cyrillic and Korean with an Arabic word
that prints "?"), currencies with 0, 2 and 3 minor units, an amount
wide enough to shrink the "Amount due" panel's font, and a draft preview. Each is rendered through
the models (``render_invoice_pdf``), stored by the render task, and rendered from its document in a
fresh interpreter in both orders (cold and warm caches give the same bytes)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from billing.contracts.models import Contract
from billing.documents import storage
from billing.documents.drawing import render_invoice_pdf
from billing.documents.invoice_doc import invoice_doc
from billing.documents.services import invoice_documents_store
from billing.models import Invoice, InvoiceLine
from tests.billing.documents.factories import InvoiceFactory, InvoiceLineFactory
from tests.billing.documents.pdftext import page_strings, pdf_text
from tests.revops.factories import CustomerFactory, LegalEntityFactory

pytestmark = pytest.mark.django_db

NON_ASCII = (
    "Ōsaka Żółć Trading Company — 株式会社 “Global” Holdings ✓ International Limited Partnership "
    "of the Northern and Southern Hemispheres Łódź 😀"
)
LONG_DESCRIPTION = (
    "LLM tokens (gpt-4o, input) — usage billed in arrears, including late events received after the "
    "previous invoice was finalized × 2, for the EU-West deployment and its failover region"
)

# name: SHA-256 of the PDF (re-pinned when the fonts were embedded: see the module docstring).
GOLDEN = {
    "one_line_usd": "88820ab42a75778bf358015c45cb267c271b93846d22a890ac8f52c342e1e0e4",
    "three_lines_tax_usd": "e35ea0b8a47a0d0e881b2b77c6adde95e38e38cf38e3f7f5037869ec61e64558",
    "many_lines_page_breaks": "831ecbaf876ae0040bcbbc939fd6a2b1108dc39a3383923d938f755a5072c1ff",
    "zero_total_paid": "6949f4ffb38cf138add9996911e8d18b57a142d4cd9c95874f92329ada1d8d46",
    "void_no_lines": "333b6b6e046d20c8c7f8d60d5d8fb8a6309fa0da6d5f9ffc9b57b1426d2df295",
    "non_ascii_jpy": "acf3154cd546b45f6cd3e2ed9f0a65ee6459e32e4020ce7b9c72628ebe6f1010",
    "kwd_three_places_credits": "9531dcab062b56d01bcfcdb90b38e3a96ad4c15f6ac3ad3e5440b37bfbccab9f",
    "huge_amount_eur": "9be3513230e747bb76b00d8fb8b502628eb49e9273866d247d316685e8ddc1ad",
    "draft_preview": "1d3a9c4998470f88a5fc8bc565e10ca5cf88f96ea46c0523c04553d6acf5cdce",
    "greek_cyrillic_korean": "224716fd0ec19d55c9df3431f8ef308adbabcfb0a9e4b45358ca86dd7d21def3",
}

# name: (pages, text each case must read back, in this order)
TEXT = {
    "one_line_usd": (
        1,
        [
            "Tax ID: US 12-3456789",
            "INVOICE",
            "INV-2026-000001",
            "Billing period 1 Aug 2026 \u2013 1 Sep 2026 (end exclusive)",
            "BILL TO",
            "Customer one_line_usd",
            "SERVICE PERIOD (END EXCLUSIVE)",
            "Platform fee",
            "Total due (USD) 100.00",
            "Please pay 100.00 USD by",
            "Page 1 of 1",
        ],
    ),
    "three_lines_tax_usd": (
        1,
        [
            "Tax ID: US 12-3456789",
            "Pro plan seats",
            "5 50.00 250.00",
            "API calls",
            "1,234,567 0.0005 617.28",
            "Proration \u2013 plan change Prorated: 22 of 31 days 10 Aug 2026 \u2013 1 Sep 2026 1 382.72 382.72",
            "Tax (8.25%) 103.13",
            "Total due (USD) 1,353.13",
            "Service periods: end exclusive.",
        ],
    ),
    "many_lines_page_breaks": (
        6,
        [
            "Concord Europe GmbH",
            "Friedrichstra\u00dfe 123",
            "M\u00fcller & S\u00f6hne KG",
            "Pro plan seats \u2014 line 1 ",
            "Invoice EU-2026-000042 \u2013 continued",
            "line 74",
            "Discount -100.00",
            "Credits applied -50.00",
            "Total due (EUR) 14,522.35",
            "Page 6 of 6",
        ],
    ),
    "zero_total_paid": (1, ["Free tier usage", "Total due (USD) 0.00"]),
    "void_no_lines": (1, ["Void Co", "No charges this period.", "Total due (USD) 0.00"]),
    "non_ascii_jpy": (
        1,
        [
            "\u014csaka \u017b\u00f3\u0142\u0107 Trading Company \u2014 \u682a\u5f0f\u4f1a\u793e \u201cGlobal\u201d",
            "Hemispheres \u0141\u00f3d\u017a \U0001f600",
            "\u014csaka 530-0001 \u65e5\u672c",
            "Seats \u2212 annual \u201cEnterprise\u201d \u2713 \u2192 renewal \u682a\u5f0f\u4f1a\u793e",
            "300 50 15,000",
            "Tax (10%) 1,650",
            "Total due (JPY) 18,150",
        ],
    ),
    "kwd_three_places_credits": (
        1,
        ["300 1.500 450.000", "Credits applied -472.500", "Total due (KWD) 0.000"],
    ),
    "huge_amount_eur": (1, ["123,456,789,012.34 EUR", "Total due (EUR) 123,456,789,012.34"]),
    "draft_preview": (1, ["DRAFT INVOICE", "DRAFT-900001", "This is a draft for review."]),
    "greek_cyrillic_korean": (
        1,
        [
            "Ελληνική Εταιρεία Α.Ε. / ООО «Москва» / 한국상사",
            "Οδός Αθηνάς 12, Αθήνα ул. Тверская 1, Москва 서울특별시 중구",
            "Υπηρεσίες πλατφόρμας — Платформа — 플랫폼 — ????",  # the Arabic word: "?" and a warning
            "Total due (USD) 500.00",
        ],
    ),
}


def _line(invoice, position, description, quantity, unit, amount, start=None, end=None):
    InvoiceLineFactory(
        invoice=invoice,
        position=position,
        description=description,
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit) if unit is not None else None,
        amount=Decimal(amount),
        service_start=start or date(2026, 8, 1),
        service_end=end or date(2026, 9, 1),
    )


def _invoice(name, *, entity=None, customer=None, currency="USD", **fields):
    entity = entity or LegalEntityFactory(
        code="concord-us",
        name="Concord Demo Inc.",
        address="500 Market Street, Suite 1200\nSan Francisco, CA 94105\nUnited States",
        tax_id="US 12-3456789",
    )
    customer = customer or {}
    customer = CustomerFactory(
        name=customer.get("name", f"Customer {name}"),
        external_id=customer.get("external_id", f"cus_{name}"),
        email=customer.get("email", f"ap@{name.replace('_', '-')}.example"),
        address=customer.get("address", "1 Harbour Road\nSpringfield"),
        currency=currency,
        legal_entity=entity,
    )
    invoice = InvoiceFactory(
        contract__customer=customer, customer=customer, legal_entity=entity, currency=currency, **fields
    )
    Contract.objects.filter(pk=invoice.contract_id).update(number=f"C-{name}"[:32])
    return invoice


def _cases() -> dict[str, Invoice]:
    cases = {}
    inv = _invoice(
        "one_line_usd", number="INV-2026-000001", subtotal=Decimal("100.00"), total=Decimal("100.00")
    )
    _line(inv, 0, "Platform fee", "1", "100", "100.00")
    cases["one_line_usd"] = inv

    inv = _invoice(
        "three_lines_tax_usd",
        number="INV-2026-000002",
        subtotal=Decimal("1250.00"),
        tax_rate=Decimal("8.2500"),
        tax=Decimal("103.13"),
        total=Decimal("1353.13"),
    )
    _line(inv, 0, "Pro plan seats", "5", "50.000000000000", "250.00")
    _line(inv, 1, "API calls", "1234567", "0.000500000000", "617.28")
    _line(inv, 2, "Proration – plan change", "1", "382.72", "382.72", date(2026, 8, 10), date(2026, 9, 1))
    InvoiceLine.objects.filter(invoice=inv, position=2).update(
        kind="fee", breakdown=[{"description": "Prorated 22/31 days", "amount": "-157.28"}]
    )
    cases["three_lines_tax_usd"] = inv

    entity = LegalEntityFactory(
        code="concord-eu",
        name="Concord Europe GmbH",
        address="Friedrichstraße 123\n10117 Berlin\nDeutschland",
        tax_id="DE123456789",
    )
    inv = _invoice(
        "many_lines_page_breaks",
        entity=entity,
        currency="EUR",
        customer={"name": "Müller & Söhne KG", "address": "Königsallee 1\n40212 Düsseldorf"},
        number="EU-2026-000042",
        subtotal=Decimal("12345.67"),
        discount=Decimal("100.00"),
        tax_rate=Decimal("19.0000"),
        tax=Decimal("2326.68"),
        credits_applied=Decimal("50.00"),
        total=Decimal("14522.35"),
    )
    for index in range(75):
        long = index % 4 == 0
        _line(
            inv,
            index,
            f"{LONG_DESCRIPTION}, line {index}" if long else f"Pro plan seats — line {index}",
            "1234567" if long else "5",
            "0.000002500000" if long else "50",
            "3.09" if long else "250.00",
            date(2026, 8, 1 + index % 20),
            date(2026, 9, 1) if index % 3 else date(2026, 8, 2 + index % 20),
        )
    cases["many_lines_page_breaks"] = inv

    inv = _invoice(
        "zero_total_paid",
        number="INV-2026-000003",
        status=Invoice.Status.PAID,
        subtotal=Decimal("0"),
        total=Decimal("0"),
        due_date=None,
    )
    _line(inv, 0, "Free tier usage", "0", "0", "0.00")
    cases["zero_total_paid"] = inv

    cases["void_no_lines"] = _invoice(
        "void_no_lines",
        number="INV-2026-000004",
        status=Invoice.Status.VOID,
        customer={"name": "Void Co", "address": "", "email": ""},
        total=Decimal("0"),
    )

    entity = LegalEntityFactory(
        code="concord-jp", name="Concord Japan K.K.", address="1-1 Marunouchi\nTokyo", tax_id=""
    )
    inv = _invoice(
        "non_ascii_jpy",
        entity=entity,
        currency="JPY",
        customer={
            "name": NON_ASCII,
            "address": "1 Harbour Road\nŌsaka 530-0001\n日本",
            "email": "ap@osaka.example",
        },
        number="JP-2026-000007",
        subtotal=Decimal("16500"),
        tax_rate=Decimal("10.0000"),
        tax=Decimal("1650"),
        total=Decimal("18150"),
    )
    _line(inv, 0, "Seats − annual “Enterprise” ✓ → renewal 株式会社", "300", "50", "15000")
    _line(inv, 1, "Support", "1", "1500", "1500")
    cases["non_ascii_jpy"] = inv

    entity = LegalEntityFactory(code="concord-kw", name="Concord Gulf W.L.L.", address="Kuwait City")
    inv = _invoice(
        "kwd_three_places_credits",
        entity=entity,
        currency="KWD",
        number="KW-2026-000001",
        subtotal=Decimal("450.000"),
        tax_rate=Decimal("5.0000"),
        tax=Decimal("22.500"),
        credits_applied=Decimal("472.500"),
        total=Decimal("0.000"),
    )
    _line(inv, 0, "Pro plan seats", "300", "1.5", "450.000")
    cases["kwd_three_places_credits"] = inv

    inv = _invoice(
        "huge_amount_eur",
        currency="EUR",
        customer={"name": "Very Large Enterprise Customer With A Rather Long Legal Name AG " * 2},
        number="INV-2026-000005",
        subtotal=Decimal("123456789012.34"),
        total=Decimal("123456789012.34"),
        finalized_at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        period_start=date(2026, 12, 15),
        period_end=date(2027, 1, 15),
    )
    _line(inv, 0, (LONG_DESCRIPTION * 2)[:300], "98765432.123456", "1250.000001", "123456789012.34")
    cases["huge_amount_eur"] = inv

    inv = _invoice(
        "greek_cyrillic_korean",
        customer={
            "name": "Ελληνική Εταιρεία Α.Ε. / ООО «Москва» / 한국상사",
            "address": "Οδός Αθηνάς 12, Αθήνα\nул. Тверская 1, Москва\n서울특별시 중구",
            "email": "ap@example.gr",
        },
        number="INV-2026-000006",
        subtotal=Decimal("500.00"),
        total=Decimal("500.00"),
    )
    _line(inv, 0, "Υπηρεσίες πλατφόρμας — Платформа — 플랫폼 — شركة", "1", "500", "500.00")
    cases["greek_cyrillic_korean"] = inv

    inv = _invoice(
        "draft_preview",
        number=None,
        sequence=None,
        status=Invoice.Status.DRAFT,
        subtotal=Decimal("20.00"),
        total=Decimal("20.00"),
        issue_date=None,
        due_date=None,
    )
    Invoice.objects.filter(pk=inv.pk).update(id=900_001)
    cases["draft_preview"] = inv
    return cases


def _fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_related("customer", "contract", "legal_entity").get(
        pk=900_001 if invoice.number is None else invoice.pk
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cases():
    return {name: _fresh(invoice) for name, invoice in _cases().items()}


def test_every_case_renders_the_pinned_bytes(cases):
    assert sorted(cases) == sorted(GOLDEN)
    assert {name: _sha(render_invoice_pdf(invoice)) for name, invoice in cases.items()} == GOLDEN


def test_every_case_reads_back_as_its_text(cases):
    for name, invoice in cases.items():
        pdf = render_invoice_pdf(invoice)
        pages, expected = TEXT[name]
        assert len(page_strings(pdf)) == pages, name
        text, at = pdf_text(pdf), 0
        for part in expected:
            found = text.find(part, at)
            assert found >= 0, (name, part, text[at : at + 400])
            at = found + len(part)


def test_the_render_task_stores_the_pinned_bytes(cases, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    finalized = {name: inv for name, inv in cases.items() if inv.number}
    stored = invoice_documents_store(invoice_ids=[inv.pk for inv in finalized.values()])
    assert stored == len(finalized)
    for name, inv in finalized.items():
        inv.refresh_from_db()
        assert inv.pdf_sha256 == GOLDEN[name], name
        assert _sha((Path(settings.MEDIA_ROOT) / inv.pdf_path).read_bytes()) == GOLDEN[name], name


_RENDER_IN_FRESH_PROCESS = """
import hashlib, json, os, pickle, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings.base")
import django
django.setup()
from billing.documents.drawing import render_doc
docs = pickle.loads(sys.stdin.buffer.read())
out = [[name, hashlib.sha256(render_doc(doc)).hexdigest()] for name, doc in docs]
out += [[name, hashlib.sha256(render_doc(doc)).hexdigest()] for name, doc in docs]
print(json.dumps(out))
"""


@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_a_cold_and_a_warm_process_render_the_same_bytes(cases, order):
    docs = [(name, invoice_doc(invoice)) for name, invoice in cases.items()]
    if order == "reversed":
        docs.reverse()
    result = subprocess.run(
        [sys.executable, "-c", _RENDER_IN_FRESH_PROCESS],
        input=pickle.dumps(docs),
        capture_output=True,
        cwd=settings.BASE_DIR,
        check=True,
        timeout=120,
    )
    rendered = json.loads(result.stdout)
    assert len(rendered) == 2 * len(GOLDEN)
    for name, digest in rendered:
        assert digest == GOLDEN[name], name


def test_each_file_is_fsynced_and_each_directory_once_before_the_hashes_are_recorded(
    cases, settings, tmp_path, monkeypatch
):
    """Per-file durability, not a filesystem-wide flush: every PDF's content is fsynced before it gets
    its name, every directory a chunk wrote into is fsynced once after its files are in place, and
    only then are the hashes recorded."""
    settings.MEDIA_ROOT = tmp_path / "media"
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        recorded = Invoice.objects.exclude(pdf_sha256="").count()
        placed = len(list(Path(settings.MEDIA_ROOT).rglob("*.pdf")))
        calls.append(("dir" if target.is_dir() else "file", target.name, recorded, placed))
        real_fsync(fd)

    monkeypatch.setattr("billing.documents.storage.os.fsync", fsync)
    finalized = [inv for inv in cases.values() if inv.number]
    assert invoice_documents_store(invoice_ids=[inv.pk for inv in finalized]) == len(finalized)
    files = [c for c in calls if c[0] == "file"]
    dirs = [c for c in calls if c[0] == "dir"]
    assert len(files) == len(finalized) and all(c[1].endswith(".tmp") for c in files)
    assert [c[3] for c in files] == list(range(len(finalized)))  # each fsynced before it is linked
    # Four legal entities, four directories: each fsynced once, after the last file is in place.
    assert sorted(c[1] for c in dirs) == ["concord-eu", "concord-jp", "concord-kw", "concord-us"]
    assert calls[-len(dirs) :] == dirs and all(c[3] == len(finalized) for c in dirs)
    assert all(c[2] == 0 for c in calls)  # no hash recorded before the files are durable
    assert not hasattr(storage, "_sync_media") and not hasattr(storage, "_syncfs")
