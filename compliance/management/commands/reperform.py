from django.core.management.base import BaseCommand, CommandError

from compliance.reperform import reperform_period
from revops.dates import check_period
from revops.errors import DomainError


class Command(BaseCommand):
    help = (
        "Recompute every invoice and schedule of a period from stored contracts, price versions and usage events, "
        "and (closed periods) the ledger through it against its snapshot at close; "
        "exit non-zero when anything differs from the stored figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="YYYY-MM")

    def handle(self, *args, period, **options):
        try:
            invoices, _schedules, diffs = reperform_period(check_period(period))
        except DomainError as exc:
            raise CommandError(f"--period: {exc.detail}") from None
        for diff in diffs:
            self.stdout.write(f"DIFFERENCE {diff}")
        summary = f"{period}: re-performed {invoices} invoices and the period's schedules; {len(diffs)} differences."
        if diffs:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
