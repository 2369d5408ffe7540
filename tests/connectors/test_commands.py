"""``manage.py sync`` and ``manage.py retry_failed``: what they queue, run, print and refuse."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rich.console import Console

from connectors.choices import Entity, ErrorKind, JobStatus
from connectors.models import SyncJob
from layer_sync.console import ProgressBar
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import capture_publishes, fake_integration_set
from tests.factories import CustomerFactory


@pytest.fixture
def published(monkeypatch):
    return capture_publishes(monkeypatch)


@pytest.fixture
def customers(db, published):
    """Two customers made while the integration was off (no job yet), then it is on."""
    fake_integration_set(enabled=False)
    made = [CustomerFactory(name="Alpha Ltd"), CustomerFactory(name="Beta Ltd")]
    fake_integration_set(enabled=True)
    return made


def run(command, *args, **options):
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def table_rows(output):
    """The rows of the tables printed, by their first cell: the other cells, stripped."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("│"):
            first, *cells = (cell.strip() for cell in line.strip("│").split("│"))
            rows[first] = cells
    return rows


def failed_job(record, *, status=JobStatus.FAILED, kind=ErrorKind.PERMANENT, error="refused"):
    now = timezone.now()
    return SyncJob.objects.create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=record.pk,
        object_repr=str(record),
        status=status,
        error_kind=kind,
        last_error=error,
        attempts=3,
        next_attempt_at=now,
        finished_at=now,
    )


# --- sync ------------------------------------------------------------------------------
def test_sync_queues_the_out_of_date_records_for_the_workers_and_prints_a_summary(
    customers, published, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker: the workers take the jobs

    with django_capture_on_commit_callbacks(execute=True):
        output = run("sync", "--platform", PLATFORM)

    assert sorted(published) == sorted((PLATFORM, Entity.CUSTOMER, c.pk) for c in customers)
    assert SyncJob.objects.filter(status=JobStatus.PENDING).count() == 2
    assert "Fake platform: incremental prepare" in output
    rows = table_rows(output)
    assert rows["customer"] == ["2", "2", "0", "0"]
    assert rows["site"] == rows["contact"] == ["0", "0", "0", "0"]
    assert rows["total"] == ["", "2", "0", ""]
    assert "2 jobs queued; the workers take them as they are published." in output


def test_sync_dry_run_prints_the_counts_and_changes_nothing(customers, published):
    output = run("sync", "--platform", PLATFORM, "--dry-run")

    assert SyncJob.objects.count() == 0
    assert published == []
    assert "would queue" in output
    assert table_rows(output)["customer"] == ["2", "2", "0", "0"]
    assert "Dry run: nothing was queued (2 would be)." in output


def test_sync_json_prints_only_json_with_the_counts_per_entity(customers):
    summary = json.loads(run("sync", "--platform", PLATFORM, "--entity", "customer", "--json"))

    assert summary["mode"] == "incremental"
    assert summary["prepared"] == 2
    assert summary["entities"] == [
        {
            "entity": "customer",
            "exported": True,
            "records": 2,
            "prepared": 2,
            "already_pending": 0,
            "up_to_date": 0,
        }
    ]


def test_sync_process_runs_the_jobs_here_and_prints_their_statuses(
    fake_platform, monkeypatch, settings
):
    fake_integration_set(enabled=False)
    CustomerFactory(name="Alpha Ltd")
    CustomerFactory(name="B" * 60)  # longer than the platform takes: refused
    fake_integration_set(enabled=True)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    capture_publishes(monkeypatch)  # a broker nobody consumes: only this process runs jobs

    output = run("sync", "--platform", PLATFORM, "--entity", "customer", "--process")

    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Alpha Ltd"]
    assert "Processed here: failed 1, succeeded 1." in output
    assert "Jobs of this run, by status now" in output
    summary = json.loads(run("sync", "--platform", PLATFORM, "--process", "--json"))
    # The refused one is still in the error queue, so it is prepared again.
    assert summary["prepared"] == 1
    assert summary["processed"] == {"failed": 1}


def test_sync_with_no_broker_runs_the_jobs_as_they_are_queued(fake_platform):
    fake_integration_set(enabled=False)
    CustomerFactory(name="Alpha Ltd")
    fake_integration_set(enabled=True)

    summary = json.loads(run("sync", "--platform", PLATFORM, "--json"))

    assert summary["ran_in_this_process"] is True
    assert summary["statuses"] == {"customer": {"succeeded": 1}}
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Alpha Ltd"]


def test_sync_full_and_since_reach_prepare(customers):
    assert json.loads(run("sync", "--platform", PLATFORM, "--full", "--json"))["mode"] == "full"
    since = json.loads(run("sync", "--platform", PLATFORM, "--since", "2025-02-28", "--json"))
    assert since["mode"] == "since"
    assert since["since"].startswith("2025-02-28T00:00:00")
    assert since["already_pending"] == 2


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["--platform", "nowhere"], {}, 'Unknown platform "nowhere". Known platforms:'),
        (["--platform", PLATFORM, "--entity", "asset"], {}, 'does not take "asset" records'),
        (["--platform", PLATFORM, "--since", "31/01/2025"], {}, '"31/01/2025"'),
        (["--platform", PLATFORM, "--since", "2025-02-30"], {}, "YYYY-MM-DD"),
        (
            ["--platform", PLATFORM, "--full", "--since", "2025-01-01"],
            {},
            "not allowed with argument --full",
        ),
        ([], {"platform": PLATFORM, "full": True, "since": "2025-01-01"}, "cannot be combined"),
        (["--platform", PLATFORM, "--dry-run", "--process"], {}, "cannot be combined"),
        ([], {}, "the following arguments are required: --platform"),
    ],
)
def test_sync_refuses_bad_arguments_naming_the_problem_and_changes_nothing(
    customers, args, options, message
):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("sync", *args, **options)
    assert SyncJob.objects.count() == 0


def test_sync_refuses_a_platform_whose_integration_is_off(customers):
    fake_integration_set(enabled=False)
    with pytest.raises(CommandError, match="integration is off"):
        run("sync", "--platform", PLATFORM)
    assert SyncJob.objects.count() == 0


def test_the_progress_bar_shows_each_step_on_a_terminal_and_nothing_otherwise():
    shown = io.StringIO()
    with ProgressBar(console=Console(file=shown, force_terminal=True, width=80)) as bar:
        bar.start("customer", 3)
        bar.advance(3)
    hidden = io.StringIO()
    with ProgressBar(show=False, console=Console(file=hidden, force_terminal=True)) as bar:
        bar.start("customer", 3)
        bar.advance(3)
    piped = io.StringIO()
    with ProgressBar(console=Console(file=piped)) as bar:
        bar.start("customer", 3)

    assert "customer" in shown.getvalue()
    assert "3/3" in shown.getvalue()
    assert hidden.getvalue() == ""
    assert piped.getvalue() == ""


# --- retry_failed ------------------------------------------------------------------------
def test_retry_failed_requeues_the_error_queue_and_prints_each_job(customers):
    alpha, beta = customers
    refused = failed_job(alpha, error="name may be at most 50 characters")
    gave_up = failed_job(beta, status=JobStatus.ABORTED, kind=ErrorKind.RECOVERABLE)

    output = run("retry_failed", "--platform", PLATFORM)

    assert set(SyncJob.objects.values_list("status", flat=True)) == {JobStatus.PENDING}
    assert f"#{refused.pk}" in output
    assert f"#{gave_up.pk}" in output
    assert "name may be" in output
    assert "2 jobs retried." in output


def test_retry_failed_filters_by_kind_and_by_job(customers):
    alpha, beta = customers
    refused = failed_job(alpha)
    gave_up = failed_job(beta, status=JobStatus.ABORTED, kind=ErrorKind.RECOVERABLE)

    run("retry_failed", "--kind", "recoverable")
    assert SyncJob.objects.get(pk=gave_up.pk).status == JobStatus.PENDING
    assert SyncJob.objects.get(pk=refused.pk).status == JobStatus.FAILED
    run("retry_failed", "--job", str(refused.pk))
    assert SyncJob.objects.get(pk=refused.pk).status == JobStatus.PENDING


def test_retry_failed_dry_run_lists_and_changes_nothing(customers, published):
    job = failed_job(customers[0])

    output = run("retry_failed", "--dry-run")

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert published == []
    assert "1 job would be retried (dry run: nothing changed)." in output


def test_retry_failed_json_lists_the_retried_jobs(customers):
    job = failed_job(customers[0], error="refused by the platform")

    summary = json.loads(run("retry_failed", "--entity", "customer", "--json"))

    assert summary["dry_run"] is False
    assert summary["jobs"] == [
        {
            "job": job.pk,
            "platform": PLATFORM,
            "entity": "customer",
            "object_id": customers[0].pk,
            "record": "Alpha Ltd",
            "status": "failed",
            "kind": "permanent",
            "error": "refused by the platform",
            "requeued_as": job.pk,
            "status_now": "pending",
        }
    ]


def test_retry_failed_with_nothing_to_retry_says_so(customers):
    failed_job(customers[0], kind=ErrorKind.PERMANENT)
    output = run("retry_failed", "--kind", "configuration")
    assert output.strip() == "The error queue has no jobs matching these filters."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "nowhere"], 'Unknown platform "nowhere"'),
        (["--kind", "fatal"], "argument --kind: invalid choice: 'fatal'"),
        (["--entity", "invoice"], "argument --entity: invalid choice: 'invoice'"),
        (["--job", "12x"], "argument --job: invalid int value: '12x'"),
        (["--job", "999999"], "#999999 does not exist"),
    ],
)
def test_retry_failed_refuses_bad_arguments_naming_the_problem_and_changes_nothing(
    customers, args, message
):
    job = failed_job(customers[0])
    with pytest.raises(CommandError, match=message):
        run("retry_failed", *args)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_retry_failed_refuses_named_jobs_outside_the_error_queue_before_retrying_any(customers):
    refused = failed_job(customers[0])
    other_platform = failed_job(customers[1])
    SyncJob.objects.filter(pk=other_platform.pk).update(platform="abillity")

    with pytest.raises(CommandError, match=f"#{other_platform.pk} is not in the error queue"):
        run(
            "retry_failed", "--platform", PLATFORM, "--job", str(refused.pk), str(other_platform.pk)
        )

    assert SyncJob.objects.get(pk=refused.pk).status == JobStatus.FAILED
