"""CPU time of rendering one customer document, no database: ``python -m bench._pdf_timing``.

Not one of ``make bench``'s benchmarks (those measure PostgreSQL; the leading underscore keeps it out):
a small script to compare the PDF writer before and after a change, on documents built in memory.
Run it from a checkout (it renders with that checkout's code) on a quiet machine. Each figure is the
median of ``--repeat`` batches of CPU time (``time.process_time``) per document:

- "same glyphs": the same document rendered again and again (the fonts of its glyph set remembered);
- "new glyphs": each render's font objects built afresh (the writer's per-glyph-set memory emptied
  before each render, where it has one) — a customer whose name and address bring a glyph set the
  process has not embedded yet;
- "a run of N customers": one document per customer, each a different name and address, the memory
  emptied before the run only — what a billing run's documents cost.

Measured when the fonts were embedded (2 cores shared with other work, load 9-10, so only roughly;
two alternating runs each, ``--repeat 3``), Helvetica/WinAnsi (8f14572) -> embedded fonts:

| document | same glyphs | new glyphs | bytes |
| --- | --- | --- | --- |
| Latin, 1 line | 0.44-0.53 -> 0.53-0.60 ms | 0.40-0.51 -> 2.35-2.70 ms | 2,357 -> 18,223 |
| Latin, 75 lines (6 pages) | 4.1-4.5 -> 4.4-5.0 ms | 3.8-4.7 -> 7.1-7.5 ms | 6,869 -> 23,388 |
| Greek/Cyrillic, 1 line | 0.41-0.65 -> 0.55-0.72 ms | 0.38-0.62 -> 3.0-3.3 ms | 2,412 ("?") -> 20,856 |
| CJK, 1 line | 0.38-0.56 -> 0.66-0.77 ms | 0.50-0.61 -> 3.4-3.6 ms | 2,172 ("?") -> 22,013 |
| a run of 200 customers | 0.44-0.67 -> 0.69-0.85 ms per document | | 2,295 -> 17,985 on average |

The first render in a process reads the DejaVu fonts (~80 ms, once); the CJK font is read the first
time a document needs it (~170 ms, once).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings.base")

import django  # noqa: E402

django.setup()

from billing.documents import pdfwriter  # noqa: E402
from billing.documents.drawing import render_doc  # noqa: E402
from billing.documents.invoice_doc import DocLine, InvoiceDoc  # noqa: E402
from billing.documents.text import pdf_text  # noqa: E402

NAMES = {
    "latin": ("Müller & Söhne KG", "Königsallee 1\n40212 Düsseldorf\nDeutschland"),
    "greek_cyrillic": ("Ελληνική Εταιρεία Α.Ε. / ООО «Москва»", "Οδός Αθηνάς 12\nАфины, Ελλάδα"),
    "cjk": ("株式会社テスト 한국상사", "東京都千代田区丸の内1-1\n日本"),
}


def _doc(name: str, address: str, lines: int) -> InvoiceDoc:
    rows = tuple(
        DocLine(
            description=pdf_text(f"Pro plan seats \u2014 line {i}"),
            period="1 Aug 2026 \u2013 1 Sep 2026",
            quantity="5",
            unit_price="50.00",
            amount="250.00",
        )
        for i in range(lines)
    )
    return InvoiceDoc(
        draft=False,
        number="INV-2026-000001",
        currency="EUR",
        created=datetime(2026, 9, 1, 9, 30, tzinfo=UTC),
        entity_name="Concord Europe GmbH",
        entity_address="Friedrichstraße 123\n10117 Berlin\nDeutschland",
        entity_tax_id="DE123456789",
        customer_name=pdf_text(name),
        customer_address=pdf_text(address, multiline=True),
        customer_email="ap@customer.example",
        customer_external_id="cus_0001",
        contract_number="C-0001",
        issue_date="1 Sep 2026",
        due_date="1 Oct 2026",
        billing_period="1 Aug 2026 \u2013 1 Sep 2026",
        lines=rows,
        totals=(("Subtotal", "250.00"), ("Tax (19%)", "47.50")),
        total_due="297.50",
        footnote="Amounts in EUR. Each line is rounded once to the minor unit (ROUND_HALF_UP).",
        facts=(("Invoice number", "INV-2026-000001"), ("Issue date", "1 Sep 2026")),
        panel_note="Due 1 Oct 2026",
        notes=(("Payment", "Please pay 297.50 EUR by 1 Oct 2026, quoting invoice INV-2026-000001."),),
        columns=("Description", "Service period", "Quantity", "Unit price (EUR)", "Amount (EUR)"),
    )


def _per_doc(doc: InvoiceDoc, count: int, repeat: int, fresh: bool) -> float:
    clear = getattr(pdfwriter, "_font_objects", None)
    batches = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(count):
            if fresh and clear is not None:
                clear.cache_clear()
            render_doc(doc)
        batches.append((time.process_time() - started) / count)
    return statistics.median(batches) * 1000


FIRST = (
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
)
SECOND = (
    "Traders",
    "Logistics",
    "Analytics",
    "Foods",
    "Systems",
    "Partners",
    "Labs",
    "Media",
    "Energy",
    "Works",
)
ACCENTED = (
    "Müller",
    "Société Générale",
    "Łódź Żółć",
    "Ørsted",
    "Škoda",
    "Çelik",
    "Þór",
    "Névé",
    "Ångström",
    "Señor",
)


def _customers(count: int) -> list[InvoiceDoc]:
    """A billing run's documents: a different customer each, four in five with an ASCII name and
    address, one in five with accented letters (a glyph set of its own, mostly)."""
    docs = []
    for i in range(count):
        name = f"{FIRST[i % 10]} {SECOND[(i // 10) % 10]} {'Inc.' if i % 3 else 'Ltd'} {i}"
        if i % 5 == 4:
            name = f"{ACCENTED[(i // 5) % 10]} {name}"
        docs.append(_doc(name, f"{100 + i} Harbour Road\nSpringfield {i % 97:05d}", 2))
    return docs


def _run_of(docs: list[InvoiceDoc], repeat: int) -> float:
    batches = []
    for _ in range(repeat):
        clear = getattr(pdfwriter, "_font_objects", None)
        if clear is not None:
            clear.cache_clear()
        started = time.process_time()
        for doc in docs:
            render_doc(doc)
        batches.append((time.process_time() - started) / len(docs))
    return statistics.median(batches) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    started = time.process_time()
    render_doc(_doc(*NAMES["latin"], 1))
    print(f"first render in this process (fonts read): {(time.process_time() - started) * 1000:.1f} ms")
    print(f"{'document':<28} {'same glyphs':>12} {'new glyphs':>12} {'bytes':>8}")
    for script, (name, address) in NAMES.items():
        for lines in (1, 75):
            doc = _doc(name, address, lines)
            render_doc(doc)
            same = _per_doc(doc, args.count, args.repeat, fresh=False)
            new = _per_doc(doc, max(args.count // 4, 10), args.repeat, fresh=True)
            size = len(render_doc(doc))
            print(f"{script + f', {lines} line(s)':<28} {same:>9.3f} ms {new:>9.3f} ms {size:>8}")
    docs = _customers(args.count)
    sizes = statistics.mean(len(render_doc(doc)) for doc in docs)
    print(
        f"a run of {len(docs)} customers, 2 lines each (one in five accented): "
        f"{_run_of(docs, args.repeat):.3f} ms per document, {sizes:.0f} bytes on average"
    )


if __name__ == "__main__":
    main()
