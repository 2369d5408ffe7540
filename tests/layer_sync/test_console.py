"""The progress shown by long management commands (layer_sync.console) and the commands
that use it: a bar on a terminal's stderr, nothing in a pipe or with --json."""

import io
import json

import pytest
from django.core.management import call_command
from rich.console import Console

from connectors.models import ReconciliationRun
from layer_sync.console import progress_step
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
