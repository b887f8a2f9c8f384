from django.core.management.base import BaseCommand, CommandError

from revops.core.services.tokens import api_token_create
from revops.errors import DomainError
from revops.roles import ROLES


class Command(BaseCommand):
    help = "Create an API token for USERNAME with ROLE (creates the user if needed). The token is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--name", default="", help="A label for the token, e.g. 'billing pipeline'.")

    def handle(self, *args, username, role, name, **options):
        try:
            token, raw = api_token_create(username=username, role=role, name=name, actor="cli")
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(
            f"Token for {username} (role {role}, prefix {token.prefix}). Store it now; it is not shown again:"
        )
        self.stdout.write(raw)
