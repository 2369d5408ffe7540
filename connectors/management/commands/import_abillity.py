"""``manage.py import_abillity``: bring existing Abillity companies in as bound customers.

    manage.py import_abillity                          # every company
    manage.py import_abillity --customer-class SME --company 12 14
    manage.py import_abillity --dry-run --json

Seed 003's import direction (see ``connectors.abillity.onboarding``): each
company becomes a customer with its sites, addresses and contacts, bound to
its Abillity records so the sync carries on with updates, never creates.
Imported customers get the class given, else the one the
``ABILLITY_IMPORT_CUSTOMER_CLASS`` setting names, else none. Rerunning skips
companies imported already; a company named like an unbound customer is
reported as a conflict. ``--dry-run`` reports what would be made and keeps
nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.abillity.constants import PLATFORM
from connectors.abillity.onboarding import ImportSummary, Outcome, abillity_companies_import
from connectors.base import connector_for
from connectors.errors import SyncError
from connectors.management.console import render_table
from customers.models import CustomerClass
from layer_sync.console import ProgressBar, TerminalSafeOutput

CLASS_SETTING = "ABILLITY_IMPORT_CUSTOMER_CLASS"
MESSAGE_EXCERPT = 100


def customer_class_for(code: str | None) -> CustomerClass | None:
    """The class to give imported customers: ``code``, else the setting's, else none.

    CommandError naming the code (and where it came from) when no class has it.
    """
    source = "--customer-class"
    if not code:
        code, source = getattr(settings, CLASS_SETTING, "") or "", CLASS_SETTING
    code = code.strip()
    if not code:
        return None
    found = CustomerClass.objects.filter(code=code).first()
    if found is None:
        known = ", ".join(CustomerClass.objects.values_list("code", flat=True))
        raise CommandError(
            f'Unknown customer class "{code}" (from {source}); '
            + (f"the classes are {known}." if known else "there are no customer classes yet.")
            + " Nothing was imported."
        )
    return found


class Command(TerminalSafeOutput, BaseCommand):
    help = (
        "Import existing Abillity companies, their sites and contacts as customers bound to "
        "them (rerunning creates no duplicates), with a summary per company."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customer-class",
            metavar="CODE",
            help=f"The class of imported customers (default: the {CLASS_SETTING} setting).",
        )
        parser.add_argument(
            "--company",
            dest="company_ids",
            type=int,
            nargs="+",
            metavar="ID",
            help="Only these Abillity companies (by id).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be made; keep nothing."
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the summary as JSON."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options.get("dry_run", False)
        as_json: bool = options.get("as_json", False)
        customer_class = customer_class_for(options.get("customer_class"))
        company_ids = options.get("company_ids")
        bar = ProgressBar(show=not as_json)
        try:
            client = connector_for(PLATFORM).client()
            with bar:
                summary = abillity_companies_import(
                    client=client,
                    customer_class=customer_class,
                    company_ids=list(company_ids) if company_ids else None,
                    dry_run=dry_run,
                    progress=bar if bar.enabled else None,
                )
        except SyncError as exc:
            raise CommandError(f"The import stopped: {exc.message}") from None

        if as_json:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2))
            return
        self._print(summary)

    def _print(self, summary: ImportSummary) -> None:
        if not summary.companies:
            self.stdout.write("Abillity has no companies to import.")
            return
        rows = []
        for company in summary.companies:
            message = " ".join([company.message, *company.notes]).strip()
            if len(message) > MESSAGE_EXCERPT:
                message = message[: MESSAGE_EXCERPT - 1] + "…"
            rows.append(
                [
                    company.company_id,
                    company.name or "-",
                    company.outcome,
                    f"#{company.customer_id}" if company.customer_id else "-",
                    company.sites,
                    company.contacts,
                    message or "-",
                ]
            )
        title = "Abillity import" + (" (dry run: nothing kept)" if summary.dry_run else "")
        headers = ["company", "name", "outcome", "customer", "sites", "contacts", "detail"]
        self.stdout.write(render_table(headers, rows, title=title))
        counts = summary.counts()
        made = ", ".join(
            _counted(counts[key], word)
            for key, word in (
                ("companies", "customer"),
                ("sites", "site"),
                ("contacts", "contact"),
                ("addresses", "address"),
            )
        )
        self.stdout.write(
            f"{'Would make' if summary.dry_run else 'Made'}: {made}. "
            f"Already imported: {counts['already_imported']}. "
            f"Conflicts: {counts['conflicts']}. Errors: {counts['errors']}."
        )
        for company in summary.companies:
            # In full: the table cuts them short.
            said = company.notes if company.outcome == Outcome.IMPORTED else [company.message]
            for text in said:
                self.stdout.write(f"Company {company.company_id} ({company.name}): {text}")


def _counted(number: int, word: str) -> str:
    plural = word + ("es" if word.endswith("s") else "s")
    return f"{number} {word if number == 1 else plural}"
