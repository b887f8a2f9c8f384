"""Demo data. Idempotent: run it again and it only adds what is missing. Each capability adds its
own seeding step through ``revops.core.demo.register_seeder``."""

from django.core.management.base import BaseCommand
from django.db import transaction

from revops.core.demo import run_seeders, seed_users


class Command(BaseCommand):
    help = "Create demo users for every role (printed with their passwords) and demo data."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, quiet=False, **options):
        with transaction.atomic():
            users = seed_users()
        for line in run_seeders(log=(lambda msg: None) if quiet else self.stdout.write):
            if not quiet:
                self.stdout.write(line)
        if quiet:
            return
        self.stdout.write(self.style.SUCCESS("\nDemo users (sign in at http://127.0.0.1:8000/login/):"))
        self.stdout.write(f"  {'username':<10} {'password':<22} role")
        for username, password, role in users:
            self.stdout.write(f"  {username:<10} {password:<22} {role}")
