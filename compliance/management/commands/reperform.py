from django.core.management.base import BaseCommand, CommandError

from compliance.reperform import reperform_period


class Command(BaseCommand):
    help = (
        "Recompute every invoice and schedule of a period from stored contracts, price versions and usage events; "
        "exit non-zero when anything differs from the stored figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="YYYY-MM")

    def handle(self, *args, period, **options):
        invoices, _schedules, diffs = reperform_period(period)
        for diff in diffs:
            self.stdout.write(f"DIFFERENCE {diff}")
        summary = f"{period}: re-performed {invoices} invoices and the period's schedules; {len(diffs)} differences."
        if diffs:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
