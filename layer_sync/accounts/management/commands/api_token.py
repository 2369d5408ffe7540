"""``manage.py api_token issue|list|revoke``: API tokens from the command line.

- ``issue USER [--days N] [--replace]`` prints the new key once, with its expiry;
- ``list [--user USER]`` shows every token by its prefix, user, dates and state (never a
  key: none is stored);
- ``revoke PREFIX ...`` or ``revoke --user USER`` revokes tokens; a client using one is
  refused from its next request.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from layer_sync.accounts.selectors import (
    api_token_by_prefix,
    api_token_state,
    api_tokens,
    user_by_username,
)
from layer_sync.accounts.services import api_token_issue, api_tokens_revoke
from layer_sync.admin import refusal_text


class Command(BaseCommand):
    help = "Issue, list and revoke API tokens (keys are shown once, at issue, and never stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        issue = actions.add_parser("issue", help="Issue a token and print its key once.")
        issue.add_argument("username")
        issue.add_argument(
            "--days", type=int, default=None, help="Lifetime (default API_TOKEN_TTL_DAYS)."
        )
        issue.add_argument(
            "--replace", action="store_true", help="Revoke the user's other tokens first."
        )
        listing = actions.add_parser("list", help="List tokens by prefix.")
        listing.add_argument("--user", dest="username", default=None)
        revoke = actions.add_parser("revoke", help="Revoke tokens by prefix, or all of a user's.")
        revoke.add_argument("prefixes", nargs="*", metavar="PREFIX")
        revoke.add_argument("--user", dest="username", default=None)

    def handle(self, *args: object, **options: object) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ValidationError as error:
            raise CommandError(refusal_text(error)) from None

    def _issue(self, options: dict) -> None:
        issued = api_token_issue(
            user=self._user(str(options["username"])),
            days=options["days"],
            replace_existing=bool(options["replace"]),
        )
        self.stdout.write(
            f"Token for {issued.username}, expiring {issued.expiry:%Y-%m-%d %H:%M %Z}:\n"
            f"{issued.key}\n"
            f"It is shown only now: store it safely. Its prefix is {issued.prefix}."
        )

    def _list(self, options: dict) -> None:
        username = options["username"]
        if username is not None:
            self._user(username)
        tokens = list(api_tokens(username=username))
        if not tokens:
            self.stdout.write("No API tokens.")
            return
        self.stdout.write(f"{'prefix':<18} {'user':<24} {'created':<17} {'expires':<17} state")
        for token in tokens:
            expiry = f"{token.expiry:%Y-%m-%d %H:%M}" if token.expiry else "never"
            self.stdout.write(
                f"{token.token_key + '...':<18} {token.user.get_username():<24} "
                f"{token.created:%Y-%m-%d %H:%M} {expiry:<17} {api_token_state(token)}"
            )

    def _revoke(self, options: dict) -> None:
        prefixes, username = options["prefixes"], options["username"]
        if bool(prefixes) == bool(username):
            raise CommandError("Name the tokens by prefix, or give --user (not both).")
        if username:
            tokens = list(api_tokens(username=self._user(username).get_username()))
        else:
            tokens = [api_token_by_prefix(prefix) for prefix in prefixes]
        revoked = api_tokens_revoke(tokens=tokens)
        self.stdout.write(f"Revoked {revoked} API token{'s' if revoked != 1 else ''}.")

    def _user(self, username: str):
        return user_by_username(username)
