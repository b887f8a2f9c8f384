"""``manage.py import_events FILE [--format ndjson|csv] [--batch-size 5000]``: bulk-load usage events
through the same service and rules as ``POST /api/v1/events`` (source "import"), with a progress bar
on stderr, a core Job row reporting progress to the UI, and a summary at the end.

CSV columns: ``transaction_id,customer,code,timestamp`` plus either ``properties.<name>`` columns
(values arrive as strings; numeric meter fields accept decimal strings) or one ``properties`` column
holding a JSON object. Running the same file twice adds nothing: every event is a duplicate."""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError

from billing.usage.services import usage_import
from revops.core.services.jobs import job_complete, job_create, job_fail, job_set_progress, job_start
from revops.errors import DomainError


class ProgressBar:
    """A small stderr progress bar (by bytes read when the size is known)."""

    def __init__(self, stream, total_bytes: int | None, width: int = 30):
        self.stream, self.total, self.width = stream, total_bytes, width
        self.started = time.monotonic()

    def update(
        self, *, done_bytes: int | None, events: int, accepted: int, duplicates: int, rejected: int
    ) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{events / elapsed:,.0f} ev/s"
        counts = f"{events:,} events · {accepted:,} new · {duplicates:,} dup · {rejected:,} rejected · {rate}"
        if self.total and done_bytes is not None:
            share = min(done_bytes / self.total, 1.0)
            filled = int(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\r[{bar}] {share:4.0%} {counts}"
        else:
            line = f"\r{counts}"
        self.stream.write(line)
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import usage events from an NDJSON or CSV file (same validation, dedup and quarantine as the API)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the file, or - for standard input")
        parser.add_argument("--format", choices=("ndjson", "csv"), help="Default: from the file extension")
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Events per transaction (max 10,000)"
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar")

    def handle(self, *args, file, format=None, batch_size=5000, quiet=False, **options):
        fmt = format or ("csv" if file.lower().endswith(".csv") else "ndjson")
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10,000.")
        try:
            stream = sys.stdin if file == "-" else open(file, encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.")
        size = None if file == "-" else os.path.getsize(file)
        job = job_create(
            kind="usage_import", params={"file": os.path.basename(file), "format": fmt}, total=size or 0
        )
        job_start(job_id=job.pk)
        bar = None if quiet else ProgressBar(self.stderr._out, size)
        seen = {"accepted": 0, "duplicates": 0, "rejected": 0}

        def progress(done: int, result) -> None:
            seen["accepted"] += result.accepted
            seen["duplicates"] += result.duplicates
            seen["rejected"] += len(result.rejected)
            position = None
            if size:
                try:
                    position = min(stream.buffer.tell() if hasattr(stream, "buffer") else stream.tell(), size)
                except (OSError, ValueError):
                    position = None
                if position is not None:
                    job_set_progress(job_id=job.pk, done=position)
            if bar:
                bar.update(done_bytes=position, events=done, **seen)

        try:
            with stream if file != "-" else nullcontext(stream):
                total = usage_import(stream=stream, fmt=fmt, batch_size=batch_size, progress=progress)
        except DomainError as exc:
            job_fail(job_id=job.pk, error=exc.detail)
            raise CommandError(exc.detail)
        except Exception as exc:
            job_fail(job_id=job.pk, error=str(exc))
            raise
        finally:
            if bar:
                bar.finish()
        summary = {
            "accepted": total.accepted,
            "duplicates": total.duplicates,
            "rejected": len(total.rejected),
        }
        job_complete(job_id=job.pk, result=summary)
        events = total.accepted + total.duplicates + len(total.rejected)
        self.stdout.write(
            f"Imported {file}: {events:,} events — {total.accepted:,} accepted, {total.duplicates:,} duplicates, "
            f"{len(total.rejected):,} rejected (quarantined). Job #{job.pk}."
        )
        for rejection in total.rejected[:10]:
            reasons = "; ".join(f"{e['field'] or 'event'}: {e['message']}" for e in rejection["errors"])
            self.stdout.write(
                f"  event {rejection['index']} ({rejection['transaction_id'] or 'no id'}): {reasons}"
            )
        if len(total.rejected) > 10:
            self.stdout.write(f"  … and {len(total.rejected) - 10:,} more: see Usage → Quarantine.")
