"""``issue_token USERNAME --role PERSONA [--hub HUB] [--days N]``: a personal access token for automation.

Prints the token alone on one line (so ``TOKEN=$(manage.py issue_token …)`` works). Fails with
a non-zero exit when the user does not exist or does not hold the role (SSO users: the groups of
their last login; local accounts: their Django groups).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from identity import services
from identity.roles import PERSONAS, Role


class Command(BaseCommand):
    help = "Create a personal access token for USERNAME bound to one of the user's roles; prints the token."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=PERSONAS, help="persona of the token's role")
        parser.add_argument("--hub", default=None, help="data hub of the role (all personas except admin)")
        parser.add_argument("--days", type=int, default=90, help="validity in days (default 90)")
        parser.add_argument("--name", default="", help="label shown in the token list")
        parser.add_argument("--write", action="store_true", help="grant the write scope (MCP write tools)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {options['username']!r}.") from None
        try:
            role = Role(options["role"], None if options["role"] == "admin" else options["hub"])
        except ValueError as exc:
            raise CommandError(f"{exc} (use --hub)") from None
        try:
            issued = services.create_token(user, role.key, name=options["name"] or "issued by issue_token",
                                           days=options["days"], scopes=("write",) if options["write"] else ())
        except (services.RoleNotGranted, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(issued.secret)
