import json

from django.core.management.base import BaseCommand

from revops.core.audit.services import audit_checkpoint_create, checkpoint_document


class Command(BaseCommand):
    help = (
        "Anchor the audit chain: store a signed checkpoint of its head (sequence, head hash, time, "
        "HMAC-SHA256 signature under AUDIT_CHAIN_KEY) and print it as JSON. Keep the output outside "
        "the database (ticket, e-mail, WORM storage): `verify_audit_chain --checkpoint FILE` then "
        "detects any later rewrite of the chain up to that point, even one made with the key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", metavar="FILE", help="Write the checkpoint to FILE too.")
        parser.add_argument("--source", default="audit_anchor", help="Recorded with the checkpoint.")

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_create(source=options["source"])
        text = json.dumps(checkpoint_document(checkpoint), indent=2, sort_keys=True)
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        self.stdout.write(text)
