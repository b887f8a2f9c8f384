"""The evidence pack's registry: each file of the pack is one small builder registered by name, in
the order the pack lists it; ``build_evidence_pack`` runs them and adds the manifests."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from revops.formatting import safe_cell


@dataclass(frozen=True)
class Pack:
    """What every builder is given: the period and its first day and the day after its last."""

    period: str
    start: date
    end: date


@dataclass(frozen=True)
class EvidenceFile:
    """One file's content and its control totals (row counts and sums an auditor ties out).

    A small file gives its bytes (``data``); a file that grows with the book gives ``chunks``, an
    iterable of bytes read from the database as the pack is written (never the whole file at once).
    ``controls`` may be filled in while the chunks stream: the manifest is written after every file."""

    data: bytes = b""
    controls: dict = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None

    def iter_bytes(self) -> Iterator[bytes]:
        if self.chunks is None:
            yield self.data
        else:
            yield from self.chunks


Builder = Callable[[Pack], "EvidenceFile | None"]

# name -> builder, in the order the files appear in the pack and its manifests.
BUILDERS: dict[str, Builder] = {}


def evidence_file(name: str) -> Callable[[Builder], Builder]:
    """Register the decorated function as the builder of the pack's file ``name``. A builder returns
    ``None`` when the file does not apply (it is then left out of the pack)."""

    def register(builder: Builder) -> Builder:
        if name in BUILDERS and BUILDERS[name] is not builder:
            raise ValueError(f"evidence file {name!r} already has a builder")
        BUILDERS[name] = builder
        return builder

    return register


# Rows of a CSV file written per chunk (and database rows fetched per chunk by the builders).
CSV_CHUNK_ROWS = 1000


def _csv_chunks(rows: Iterable, header: list[str], chunk_rows: int) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


def csv_file(
    rows: Iterable, header: list[str], *, controls: dict | None = None, chunk_rows: int = CSV_CHUNK_ROWS
) -> EvidenceFile:
    """A CSV file of the pack: a header, then one line per row; text cells are neutralized against
    spreadsheet formula injection, ``None`` is an empty cell. ``rows`` is consumed lazily, as the pack
    is written (give a generator over ``queryset.iterator()``), ``chunk_rows`` lines at a time."""
    return EvidenceFile(
        controls=controls if controls is not None else {}, chunks=_csv_chunks(rows, header, chunk_rows)
    )


class _Entry:
    """What the manifest says of a file, measured as its bytes pass: sha256, size, newlines."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.newlines = 0

    def take(self, chunk: bytes) -> bytes:
        self.digest.update(chunk)
        self.size += len(chunk)
        self.newlines += chunk.count(b"\n")
        return chunk

    def meta(self, name: str, built: EvidenceFile) -> dict:
        return {
            "sha256": self.digest.hexdigest(),
            "bytes": self.size,
            "rows": max(self.newlines - 1, 0) if name.endswith(".csv") else None,
            "controls": built.controls,
        }


def _pack(period: str) -> Pack:
    from revrec.services.periods import period_bounds

    start, end = period_bounds(period)
    return Pack(period=period, start=start, end=end)


def _manifest_files(manifest: dict) -> str:
    return "".join(f"{meta['sha256']}  {name}\n" for name, meta in manifest["files"].items())


def evidence_pack_write(*, period: str, out: BinaryIO) -> dict:
    """Write the zip of every registered file for ``period`` to ``out`` (a file, seekable or not),
    each file streamed into its zip entry as its builder reads it, then manifest.json (row counts,
    control totals, hashes) and MANIFEST.sha256 (``sha256sum -c MANIFEST.sha256`` verifies every
    file). Returns the manifest. Memory stays bounded whatever the period's size."""
    pack = _pack(period)
    manifest = {"period": period, "generated_at": timezone.now(), "files": {}}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, builder in BUILDERS.items():
            built = builder(pack)
            if built is None:
                continue
            entry = _Entry()
            with archive.open(name, "w", force_zip64=True) as target:
                for chunk in built.iter_bytes():
                    target.write(entry.take(chunk))
            manifest["files"][name] = entry.meta(name, built)
        archive.writestr("manifest.json", json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
        archive.writestr("MANIFEST.sha256", _manifest_files(manifest))
    return manifest


def evidence_pack_manifest(*, period: str) -> dict:
    """The manifest of the pack for ``period`` (what the evidence page previews), the files hashed as
    they stream, without compressing them."""
    pack = _pack(period)
    manifest = {"period": period, "generated_at": timezone.now(), "files": {}}
    for name, builder in BUILDERS.items():
        built = builder(pack)
        if built is None:
            continue
        entry = _Entry()
        for chunk in built.iter_bytes():
            entry.take(chunk)
        manifest["files"][name] = entry.meta(name, built)
    return manifest


def build_evidence_pack(*, period: str) -> tuple[bytes, dict]:
    """The zip (in memory: for tests and small periods; downloads write it with
    :func:`evidence_pack_write` to a temporary file) and its manifest."""
    buffer = io.BytesIO()
    manifest = evidence_pack_write(period=period, out=buffer)
    return buffer.getvalue(), manifest
