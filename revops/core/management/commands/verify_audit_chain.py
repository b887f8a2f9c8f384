import json

from django.core.management.base import BaseCommand, CommandError

from revops.core.audit.verify import audit_verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's keyed hash chain (HMAC under AUDIT_CHAIN_KEY) and check it against "
        "the stored signed checkpoints and any exported ones given with --checkpoint; exit non-zero and "
        "name the first bad row if broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="A checkpoint exported earlier by `audit_anchor` (JSON; repeatable). A rewrite of the "
            "chain up to its sequence number is detected, even one made with the key.",
        )

    def handle(self, *args, **options):
        documents = []
        for path in options["checkpoint"]:
            try:
                with open(path, encoding="utf-8") as handle:
                    document = json.load(handle)
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read checkpoint {path}: {exc}") from exc
            if isinstance(document, dict) and "checkpoints" in document:  # an evidence pack's file
                document = document["checkpoints"]
            documents.extend(document if isinstance(document, list) else [document])
        result = audit_verify_chain(checkpoints=documents)
        if result.valid:
            legacy = (
                f", {result.legacy} of them unkeyed (before the chain was keyed)" if result.legacy else ""
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit chain valid: {result.checked} events checked{legacy}; "
                    f"{result.checkpoints} signed checkpoints match."
                )
            )
            return
        where = f"event id={result.first_bad} " if result.first_bad is not None else ""
        raise CommandError(
            f"Audit chain BROKEN at {where}(seq #{result.first_bad_seq}): {result.reason}. "
            f"{result.checked} events checked."
        )
