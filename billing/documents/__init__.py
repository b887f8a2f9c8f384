"""Customer-facing documents rendered from stored records: invoice PDFs (stored once, never changed),
credit-note PDFs and statements of an invoice's balance (rendered when asked for; ``services``).

- ``wording``: what a customer reads about a line or an invoice, the same on the pages and in the
  PDFs (prorated fees: "Prorated: 26 of 30 days"; overdue days).
- ``invoice_doc``: the document model — every string that goes on the page, prepared from the stored
  invoice (it computes nothing), with ``text`` making each one printable (a character the embedded
  fonts cannot draw becomes "?", so no customer name can break rendering; the page warns of it).
- ``drawing``: :func:`~billing.documents.drawing.render_invoice_pdf` lays the document out and draws
  it with ``pdfwriter`` (a small PDF writer: content streams written directly, subsets of the Unicode
  fonts of ``embedfont`` embedded, glyphs and metrics computed once per process; about a millisecond
  of CPU for a typical invoice); the same invoice
  always gives the same bytes (dates from ``finalized_at``, fixed producer metadata, no random ID).
- ``storage``: :func:`~billing.documents.storage.store_invoice_pdf` writes
  ``MEDIA_ROOT/invoices/<legal entity code>/<number>.pdf`` durably (temporary file fsynced, linked
  into place, each directory fsynced once per chunk) and returns (relative path, SHA-256).
- ``services``: after a finalization commits, a task renders the finalized invoice's PDF and records
  both on the invoice with an audit event; a download that comes first renders it on demand (the same
  bytes). A recorded document is never rendered again.
  :func:`~billing.documents.storage.open_invoice_pdf` reads the file back and refuses it if it no
  longer matches its SHA-256.
"""
