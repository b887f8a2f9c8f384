from django.core.management.base import BaseCommand, CommandError

from compliance.audit import audit_verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; exit non-zero and name the first bad row if broken."

    def handle(self, *args, **options):
        result = audit_verify_chain()
        if result.valid:
            self.stdout.write(self.style.SUCCESS(f"Audit chain valid: {result.checked} events checked."))
            return
        raise CommandError(
            f"Audit chain BROKEN at event id={result.first_bad} (seq #{result.first_bad_seq}): {result.reason}. "
            f"{result.checked} events checked."
        )
