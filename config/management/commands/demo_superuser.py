"""``manage.py demo_superuser``: a staff login for trying the admin, with a new random password each time.

The password is printed once and stored only as Django's hash; there is never a fixed default.
"""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or reset) the 'demo' superuser with a random password, and print the password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username, **options):
        password = secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        verb = "created" if created else "reset"
        self.stdout.write(f"demo superuser {verb}: user {username}, password {password} (shown only now)")
