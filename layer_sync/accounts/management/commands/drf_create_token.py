"""``manage.py drf_create_token USER``: DRF's command name, kept for the scripts and
instructions that use it, now issuing a hashed, expiring token.

DRF's own command printed the user's one stored key (making it on first use); keys are no
longer stored, so every run issues a new token and prints its key once, with its expiry.
``-r``/``--reset`` (DRF's flag) revokes the user's other tokens first. ``manage.py
api_token`` lists and revokes tokens too.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from layer_sync.accounts.selectors import user_by_username
from layer_sync.accounts.services import api_token_issue
from layer_sync.admin import refusal_text


class Command(BaseCommand):
    help = (
        "Issue an API token for USER and print its key once, with its expiry (the key is "
        "stored only as a hash). -r revokes the user's other tokens first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as.")
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            dest="reset_token",
            help="Revoke the user's other API tokens first.",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Days until the token expires (default API_TOKEN_TTL_DAYS).",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            issued = api_token_issue(
                user=user_by_username(str(options["username"])),
                days=options["days"],
                replace_existing=bool(options["reset_token"]),
            )
        except ValidationError as error:
            raise CommandError(refusal_text(error)) from None
        self.stdout.write(
            f"Generated token {issued.key} for user {issued.username}; it expires "
            f"{issued.expiry:%Y-%m-%d %H:%M %Z}. It is shown only now: store it safely."
        )
