"""Invoice PDFs are byte-stable: a stored PDF carries its SHA-256 and must re-render identically on
demand, including invoices finalized before any change to the drawing code. These SHA-256 values were
computed with the renderer as it was before the rendering was made faster (commit 603f66f); any
change to a single output byte fails here.

The cases vary what the drawing branches on: one line, many lines with page breaks and the table
heading repeated, long wrapping descriptions, discount, tax, credits applied, a zero total, paid and
void invoices, non-ASCII names (transliterated), currencies with 0, 2 and 3 minor units, an amount
wide enough to shrink the "Amount due" panel's font, and a draft preview. Each is rendered through
the models (``render_invoice_pdf``), stored by the render task, and rendered from its document in a
fresh interpreter in both orders (cold and warm caches give the same bytes)."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from billing.contracts.models import Contract
from billing.documents.drawing import render_invoice_pdf
from billing.documents.invoice_doc import invoice_doc
from billing.documents.services import invoice_documents_store
from billing.models import Invoice
from tests.billing.documents.factories import InvoiceFactory, InvoiceLineFactory
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

# name: SHA-256 of the PDF rendered before the renderer was optimized.
GOLDEN = {
    "one_line_usd": "278a7b6168c92acc0b85fb180cceece8c28dec4235426b9e676045da824e9385",
    "three_lines_tax_usd": "27c41898abfcdeec0bcaef6d249e709c2249cd06077fa1c02438036415fdb787",
    "many_lines_page_breaks": "64f8d81f069bf0cb38091e9ce6fa52abf8bd114c39da57d081cd7bdd2cdaf152",
    "zero_total_paid": "239492f563277d3cf0d6ecfebffb1fbaeb68c995b72aa1a8706e3cabfb7ac99e",
    "void_no_lines": "f6cd6024bf17354c94d530ae45cb7abdff7f35d3464cf2e06d2b0d3d1cd2e7d0",
    "non_ascii_jpy": "0dff551f7aa431c8a38d5b8e7646fff687e92687380dcf216e1ca9b60890bc19",
    "kwd_three_places_credits": "0029614634d82d9fa1e776305908054c5dc507f4ec14470809fe7745584747b4",
    "huge_amount_eur": "2d165c03cd926d3cc0deb035485471a356a2aa7cb7b548cbab400485c86898e8",
    "draft_preview": "024704e1554e76fa0a14d6ecddad073bb8c10de6d6923afc6281aaf111094185",
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


def test_a_chunk_is_flushed_to_disk_once_before_its_hashes_are_recorded(
    cases, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    calls = []
    monkeypatch.setattr("billing.documents.storage.os.fsync", lambda fd: calls.append("fsync"))

    def sync():
        recorded = Invoice.objects.exclude(pdf_sha256="").count()
        calls.append(("sync", recorded, len(list(Path(settings.MEDIA_ROOT).rglob("*.pdf")))))

    monkeypatch.setattr("billing.documents.storage._sync_media", sync)
    finalized = [inv.pk for inv in cases.values() if inv.number]
    assert invoice_documents_store(invoice_ids=finalized) == len(finalized)
    assert calls == [("sync", 0, len(finalized))]  # one flush, every file written, no hash recorded yet
