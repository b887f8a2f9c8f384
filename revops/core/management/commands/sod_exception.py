from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from revops.core.services.roles import sod_exception_record
from revops.errors import DomainError
from revops.roles import ANY_KIND


class Command(BaseCommand):
    help = (
        "Record an exception to segregation of duties: USERNAME may hold a preparing role (admin, "
        "finance, pricing) next to the approver role and decide requests of KIND (default: every kind). "
        "Audited; a reason is required. Revoke it in Django admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--kind", default=ANY_KIND, help="Approval kind, e.g. exception_waiver; * for all."
        )
        parser.add_argument("--reason", required=True)
        parser.add_argument("--by", default="cli", help="Who records it (a username, or a label).")

    def handle(self, *args, username, kind, reason, by, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        actor = user_model.objects.filter(username=by).first() or by
        try:
            with transaction.atomic():
                exception = sod_exception_record(user=user, kind=kind, reason=reason, actor=actor)
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(f"Recorded SoD exception #{exception.pk} for {username} ({kind}).")
