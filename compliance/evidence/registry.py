"""The evidence pack's registry: each file of the pack is one small builder registered by name, in
the order the pack lists it; ``build_evidence_pack`` runs them and adds the manifests."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

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
    """One file's content and its control totals (row counts and sums an auditor ties out)."""

    data: bytes
    controls: dict = field(default_factory=dict)


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


def csv_file(rows, header: list[str], *, controls: dict | None = None) -> EvidenceFile:
    """A CSV file of the pack: a header, then one line per row; text cells are neutralized against
    spreadsheet formula injection, ``None`` is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
    return EvidenceFile(buffer.getvalue().encode(), controls or {})


def build_evidence_pack(*, period: str) -> tuple[bytes, dict]:
    """The zip of every registered file for ``period``, plus manifest.json (row counts, control totals,
    hashes) and MANIFEST.sha256 (``sha256sum -c MANIFEST.sha256`` verifies every file)."""
    from revrec.services.periods import period_bounds

    start, end = period_bounds(period)
    pack = Pack(period=period, start=start, end=end)
    files: dict[str, EvidenceFile] = {}
    for name, builder in BUILDERS.items():
        built = builder(pack)
        if built is not None:
            files[name] = built
    manifest = {"period": period, "generated_at": timezone.now(), "files": {}}
    for name, built in files.items():
        rows = max(built.data.count(b"\n") - 1, 0) if name.endswith(".csv") else None
        manifest["files"][name] = {
            "sha256": hashlib.sha256(built.data).hexdigest(),
            "bytes": len(built.data),
            "rows": rows,
            "controls": built.controls,
        }
    sums = "".join(f"{meta['sha256']}  {name}\n" for name, meta in manifest["files"].items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, built in files.items():
            archive.writestr(name, built.data)
        archive.writestr("manifest.json", json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
        archive.writestr("MANIFEST.sha256", sums)
    return buffer.getvalue(), manifest
