"""What management commands show on a terminal (layer_sync.console): the progress of long
commands (a bar on a terminal's stderr, nothing in a pipe or with --json), and names made
safe to print (no markup read, no escape sequence reaching the terminal)."""

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from rich.console import Console

from connectors.choices import Entity, ErrorKind, JobStatus
from connectors.management.console import render_table
from connectors.models import ReconciliationRun, SyncJob
from layer_sync.console import printable, progress_step
from tests.billing.test_export import ready_line
from tests.connectors.test_dashboard import reconciling_platform  # noqa: F401  (a fixture)
from tests.factories import CustomerFactory, platform


def test_a_step_of_unknown_size_shows_its_label_and_ends_complete_on_a_terminal():
    shown = io.StringIO()
    with progress_step(
        "Importing calls.csv", console=Console(file=shown, force_terminal=True, width=80)
    ) as bar:
        assert bar.enabled

    assert "Importing calls.csv" in shown.getvalue()
    assert "1/1" in shown.getvalue()


def test_a_step_shows_nothing_in_a_pipe_or_when_told_not_to():
    piped, hidden = io.StringIO(), io.StringIO()
    with progress_step("Reading", console=Console(file=piped)) as bar:
        assert not bar.enabled
    with progress_step(
        "Reading", show=False, console=Console(file=hidden, force_terminal=True)
    ) as quiet:
        assert not quiet.enabled

    assert piped.getvalue() == hidden.getvalue() == ""


@pytest.mark.django_db
def test_billing_export_json_puts_one_summary_on_stderr_and_the_file_on_stdout():
    affinity = platform("affinity")
    ready_line(affinity)
    left = ready_line(
        affinity, customer=CustomerFactory(name="Beta Ltd"), sku="", identifier="07700900002"
    )
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "billing_export", route="affinity", kind="products", json=True, stdout=out, stderr=err
    )

    assert out.getvalue().startswith("Line Reference,")
    summary = json.loads(err.getvalue())
    assert summary["route"] == "affinity"
    assert summary["kind"] == "products"
    assert summary["bytes"] == len(out.getvalue().encode())
    assert summary["left_out"] == [{"line": left.pk, "reason": summary["left_out"][0]["reason"]}]
    assert "Left out line" not in err.getvalue()


@pytest.mark.django_db
def test_the_reconcile_command_records_its_run_for_the_dashboard(
    reconciling_platform,  # noqa: F811
):
    out = io.StringIO()

    call_command("reconcile", platform=reconciling_platform, json=True, stdout=out)

    assert json.loads(out.getvalue())["counts"] == {"cli_differs": 1}
    run = ReconciliationRun.objects.get()
    assert (run.platform, run.difference_count) == (reconciling_platform, 1)


# --- text made safe for a terminal -------------------------------------------------------
# Issue: a customer named "Bad [/b] markup Ltd" crashed retry_failed --dry-run (rich read
# the name as markup), and escape sequences in names reached the operator's terminal.
HOSTILE_NAMES = {
    "markup": "Bad [/b] markup Ltd",
    "clear screen": "Clear\x1b[2J\x1b[H Ltd",
    "window title": "Title\x1b]0;owned\x07 Ltd",
    "carriage return": "Real Ltd\rFake Ltd",
    "8-bit CSI": "Csi\x9b31m Ltd",
    "bidi override": "Admin\u202etxt.exe Ltd",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_printable_shows_control_and_bidi_characters_as_escapes(name):
    shown = printable(name)

    assert not any(ord(char) < 32 or 0x7F <= ord(char) <= 0x9F for char in shown)
    assert "\u202e" not in shown
    assert printable("Plain Ltd, £12.50 — Café") == "Plain Ltd, £12.50 — Café"
    assert printable("two\nlines") == "two\nlines"
    assert printable("two\nlines", keep_newlines=False) == "two\\x0alines"


def test_a_table_prints_markup_and_escapes_in_cells_as_plain_text():
    table = render_table(
        ["name", "count"],
        [["Bad [/b] markup Ltd", 1], ["Clear\x1b[2J Ltd", 2], ["[bold red]Loud[/] Ltd", 3]],
        title="Jobs of [/i] Ltd",
    )

    assert "Bad [/b] markup Ltd" in table
    assert "Clear\\x1b[2J Ltd" in table
    assert "[bold red]Loud[/] Ltd" in table
    assert "Jobs of [/i] Ltd" in table
    assert "\x1b" not in table


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_retry_failed_dry_run_prints_a_hostile_customer_name_safely(db, name):
    customer = CustomerFactory(name=name)
    job = SyncJob.objects.create(
        platform="fake",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        object_repr=name,
        status=JobStatus.FAILED,
        error_kind=ErrorKind.PERMANENT,
        last_error=f"Refused {name}",
        attempts=1,
        next_attempt_at=timezone.now(),
    )
    out, err = io.StringIO(), io.StringIO()

    call_command("retry_failed", "--dry-run", stdout=out, stderr=err)

    printed = out.getvalue() + err.getvalue()
    assert f"#{job.pk}" in printed
    assert printable(name, keep_newlines=False) in printed
    assert not any(ord(c) < 32 and c != "\n" for c in printed)
    assert not any(0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in printed)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_command_line_with_a_name_is_escaped_too():
    """Plain lines (not only tables) of a human-facing command pass through printable."""
    from connectors.management.commands.retry_failed import Command

    out = io.StringIO()
    command = Command(stdout=out)
    command.stdout.write("Customer Clear\x1b[2J Ltd\rdone")

    assert out.getvalue() == "Customer Clear\\x1b[2J Ltd\\x0ddone\n"
