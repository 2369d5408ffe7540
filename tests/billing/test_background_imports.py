"""File imports in the background (billing.background_imports): the task runs the kind's
service, the page follows its progress as JSON and then shows the outcome.

The issue's rule (issue 22, "Imports in the background"): the import runs as a Celery
task, eager in the embedded mode, and the page shows progress and then the result.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import background_imports
from billing.background_imports import (
    CALL_CHARGES,
    ImportKind,
    ImportOutcome,
    background_import_run,
    background_import_start,
    call_charge_parameters,
)
from billing.choices import BackgroundImportStatus
from billing.models import BackgroundImport, ChargeImport
from tests.factories import UserFactory

from .call_charge_helpers import import_settings
from .call_logger_files import call_file, call_row

pytestmark = pytest.mark.django_db


def queued_call_charges(content: bytes, user=None) -> BackgroundImport:
    return background_import_start(
        kind=CALL_CHARGES,
        file_name="calls.csv",
        content=content,
        parameters=call_charge_parameters(
            **import_settings(), import_type="essensys_call_logger", force=False,
            ignore_zero_values=False,
        ),
        user=user,
    )  # fmt: skip


def test_an_import_is_queued_until_its_task_runs_then_records_what_it_made():
    job = queued_call_charges(call_file(call_row("1001"), call_row("1002", at="10:00:00")))
    assert job.status == BackgroundImportStatus.QUEUED and not ChargeImport.objects.exists()

    background_import_run(import_id=job.pk)

    job.refresh_from_db()
    assert job.status == BackgroundImportStatus.SUCCEEDED
    assert job.charge_import == ChargeImport.objects.get()
    assert job.result["rows"] == 2
    assert job.message == "Imported 2 rows: 0 matched, 2 unmatched."
    assert bytes(job.content) == b""  # the file is not kept once read


def test_the_task_is_queued_when_the_start_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = queued_call_charges(call_file(call_row()))

    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == BackgroundImportStatus.SUCCEEDED  # eager: no broker in the tests


def test_a_refused_file_keeps_every_problem_with_its_line_and_imports_nothing():
    job = queued_call_charges(call_file(call_row(amount="x"), call_row(at="25:00:00")))

    background_import_run(import_id=job.pk)

    job.refresh_from_db()
    assert job.status == BackgroundImportStatus.REFUSED
    assert [error["line"] for error in job.errors] == [2, 3]
    assert "Nothing was imported" in job.message
    assert not ChargeImport.objects.exists()


def test_an_import_that_has_run_is_not_run_again():
    job = queued_call_charges(call_file(call_row()))
    background_import_run(import_id=job.pk)

    background_import_run(import_id=job.pk)  # a redelivered task

    assert ChargeImport.objects.count() == 1


def test_an_unexpected_error_fails_the_import_with_a_message_not_a_traceback(monkeypatch):
    def broken(job, progress):
        raise RuntimeError("database on fire")

    kind = ImportKind(code="broken", title="Broken", run=broken)
    monkeypatch.setitem(background_imports.IMPORT_KINDS, "broken", kind)
    job = background_import_start(kind="broken", file_name="x.csv", content=b"x", parameters={})

    background_import_run(import_id=job.pk)

    job.refresh_from_db()
    assert job.status == BackgroundImportStatus.FAILED
    assert "unexpected error (RuntimeError)" in job.message
    assert "on fire" not in job.message


def test_progress_is_written_where_another_request_reads_it(monkeypatch, client):
    seen = []

    def slow(job, progress):
        progress("Checking", 40, 100)
        seen.append(BackgroundImport.objects.get(pk=job.pk))
        return ImportOutcome(message="Done.")

    monkeypatch.setitem(
        background_imports.IMPORT_KINDS, "slow", ImportKind(code="slow", title="Slow", run=slow)
    )
    user = UserFactory(is_staff=True)
    job = background_import_start(
        kind="slow", file_name="x.csv", content=b"x", parameters={}, user=user
    )
    background_import_run(import_id=job.pk)

    [during] = seen
    assert (during.status, during.phase, during.done, during.total) == (
        "running",
        "Checking",
        40,
        100,
    )
    status = background_imports.background_import_status(during)
    assert status["percent"] == 40 and status["finished"] is False


def test_the_status_json_says_how_far_it_has_got(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    job = queued_call_charges(call_file(call_row()), user=user)
    BackgroundImport.objects.filter(pk=job.pk).update(
        status="running", phase="Checking the file's rows", done=5_000, total=20_000
    )

    body = client.get(reverse("admin:billing_backgroundimport_status", args=[job.pk])).json()

    assert body["status"] == "running" and body["finished"] is False
    assert (body["done"], body["total"], body["percent"]) == (5_000, 20_000, 25)
    page = client.get(reverse("admin:billing_backgroundimport_change", args=[job.pk]))
    html = page.content.decode()
    assert 'id="import-bar"' in html and "5000 of 20000" in html
    assert f'nonce="{page.wsgi_request.csp_nonce}"' in html  # no script without the nonce


def test_staff_follow_their_own_imports_but_not_others_without_the_permission(client):
    mine, theirs = UserFactory(is_staff=True), UserFactory(is_staff=True)
    client.force_login(mine)
    own = queued_call_charges(call_file(call_row()), user=mine)
    other = queued_call_charges(call_file(call_row("1002")), user=theirs)

    for name in ("status", "change"):
        url = f"admin:billing_backgroundimport_{name}"
        assert client.get(reverse(url, args=[own.pk])).status_code == 200
        assert client.get(reverse(url, args=[other.pk])).status_code == 403
    assert client.get(reverse("admin:billing_backgroundimport_changelist")).status_code == 403


def test_a_task_delivered_twice_runs_the_import_once():
    job = queued_call_charges(call_file(call_row()))
    BackgroundImport.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now())

    background_import_run(import_id=job.pk)  # the second delivery, while the first runs

    assert not ChargeImport.objects.exists()
    assert BackgroundImport.objects.get(pk=job.pk).status == "running"


def test_the_sweeper_queues_again_imports_whose_task_was_lost(
    django_capture_on_commit_callbacks,
):
    lost = queued_call_charges(call_file(call_row("1001")))
    dead = queued_call_charges(call_file(call_row("1002")))
    waiting = queued_call_charges(call_file(call_row("1003")))
    long_ago = timezone.now() - timedelta(hours=1)
    BackgroundImport.objects.filter(pk=lost.pk).update(created_at=long_ago)
    BackgroundImport.objects.filter(pk=dead.pk).update(status="running", started_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert background_imports.background_imports_sweep() == 2

    statuses = dict(BackgroundImport.objects.values_list("pk", "status"))
    assert statuses == {lost.pk: "succeeded", dead.pk: "succeeded", waiting.pk: "queued"}
    assert ChargeImport.objects.count() == 2
