"""Stored invoice PDFs: written once, after finalization, under ``MEDIA_ROOT`` with their SHA-256, and read
back only if they still match it."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from pathlib import Path

from django.conf import settings

from billing.documents.drawing import render_invoice_pdf
from revops.errors import Conflict, DomainError, NotFound

log = logging.getLogger(__name__)


class InvoicePdfError(DomainError):
    """The invoice PDF cannot be produced or served."""


class InvoicePdfMissing(NotFound):
    pass


class InvoicePdfConflict(Conflict):
    """A different PDF is already stored (and recorded) under this invoice's number."""


class InvoicePdfTampered(DomainError):
    """The stored file no longer matches the SHA-256 recorded at finalization."""

    status = 500
    slug = "server-error"
    title = "Stored document failed its integrity check"


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_"


def invoice_pdf_path(invoice) -> str:
    """Relative to MEDIA_ROOT: ``invoices/<legal entity code>/<number>.pdf``."""
    return f"invoices/{_safe(invoice.legal_entity.code)}/{_safe(invoice.number)}.pdf"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _fsync_dir(directory: Path) -> None:
    """Make the names created in ``directory`` durable (an fsync of the directory itself)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_invoice_pdfs(invoices, *, failed: dict[int, Exception] | None = None) -> dict[int, tuple[str, str]]:
    """Render and durably write the PDFs of these finalized invoices; return {invoice pk: (relative
    path, SHA-256)}. Per file, never the whole filesystem: each PDF is written to a temporary file and
    fsynced, then linked under its name; once every file of the chunk is in place, each directory they
    went into is fsynced once. Only when this returns are the files durable, so the caller records the
    hashes afterwards. (A filesystem-wide flush, syncfs, waits for everything any process wrote to the
    disk; these fsyncs wait only for these files.)

    With ``failed`` (a dict), an invoice whose render or write raises is logged, put in ``failed``
    ({pk: error}) and skipped: one bad document does not hold back the others of its chunk. Without
    it, the first error is raised."""
    stored: dict[int, tuple[str, str]] = {}
    directories: set[Path] = set()
    for invoice in invoices:
        try:
            stored[invoice.pk] = _store(invoice)
        except Exception as error:
            if failed is None:
                raise
            log.exception("invoice %s (pk %s): its PDF could not be stored", invoice.number, invoice.pk)
            failed[invoice.pk] = error
            continue
        directories.add((_media_root() / stored[invoice.pk][0]).parent)
    for directory in sorted(directories):
        _fsync_dir(directory)
    return stored


def store_invoice_pdf(invoice) -> tuple[str, str]:
    """Render and durably write one finalized invoice's PDF (see :func:`store_invoice_pdfs`); return
    (path relative to MEDIA_ROOT, SHA-256)."""
    return store_invoice_pdfs([invoice])[invoice.pk]


def _store(invoice) -> tuple[str, str]:
    """Render and write the PDF, the file's content fsynced before it gets its name.

    Writing is atomic (temporary file, then a hard link that fails if the name exists). An existing
    file with the same content is accepted (a retried finalization). An existing file with other
    content is refused if an invoice records it; otherwise it is an orphan left by a finalization
    that rolled back after writing (the number was then handed out again) and is replaced."""
    if not invoice.number:
        raise InvoicePdfError("Only a finalized invoice (with a number) has a stored PDF.", field="number")
    data = render_invoice_pdf(invoice)
    digest = _sha256(data)
    relative = invoice_pdf_path(invoice)
    path = _media_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = _sha256(path.read_bytes())
            if existing != digest:
                from billing.models import Invoice

                if Invoice.objects.filter(pdf_path=relative, pdf_sha256=existing).exists():
                    raise InvoicePdfConflict(
                        f"A different PDF is already stored for invoice {invoice.number} at {relative}; "
                        "a finalized invoice's PDF is never replaced.",
                        field="number",
                    )
                log.warning("replacing orphaned invoice PDF %s (recorded by no invoice)", relative)
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return relative, digest


def open_invoice_pdf(invoice) -> bytes:
    """The stored PDF, after checking it against the SHA-256 recorded at finalization."""
    if not invoice.pdf_path or not invoice.pdf_sha256:
        raise InvoicePdfMissing(f"Invoice {invoice} has no stored PDF (it is rendered at finalization).")
    root = _media_root().resolve()
    path = (root / invoice.pdf_path).resolve()
    if root not in path.parents:
        raise InvoicePdfTampered(f"The stored PDF path of invoice {invoice} points outside the media root.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvoicePdfMissing(f"The PDF of invoice {invoice} is missing from storage ({invoice.pdf_path}).")
    actual = _sha256(data)
    if actual != invoice.pdf_sha256:
        raise InvoicePdfTampered(
            f"The stored PDF of invoice {invoice} does not match the SHA-256 recorded at finalization "
            f"(expected {invoice.pdf_sha256[:16]}…, found {actual[:16]}…). It was changed after it was issued."
        )
    return data


def stored_file_sizes() -> dict[str, int]:
    """{path relative to MEDIA_ROOT: bytes} of every invoice PDF in storage: one directory listing per
    legal entity (``invoices/<code>/``), no file opened."""
    sizes: dict[str, int] = {}
    root = _media_root() / "invoices"
    if not root.is_dir():
        return sizes
    with os.scandir(root) as entities:
        for entity in entities:
            if not entity.is_dir(follow_symlinks=False):
                continue
            with os.scandir(entity.path) as files:
                for entry in files:
                    if entry.is_file(follow_symlinks=False) and entry.name.endswith(".pdf"):
                        sizes[f"invoices/{entity.name}/{entry.name}"] = entry.stat().st_size
    return sizes


def stored_file_sha256(relative: str) -> str | None:
    """The SHA-256 of the stored file at ``relative`` (under MEDIA_ROOT), None if it is missing."""
    try:
        return _sha256((_media_root() / relative).read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
