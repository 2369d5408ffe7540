"""The Sync History as seed 003's Sync History (BC301000) form: platform and entity, the
tabs (ready to process, processed, failed, filtered, skipped, deleted), External ID linking
to the platform's record, Last Operation and Last Attempt (issue 21, item 2)."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.base import connector_for
from connectors.choices import Entity, JobStatus, Operation
from connectors.models import SyncJob
from tests.connectors.fake import PLATFORM

CHANGELIST = reverse("admin:connectors_syncjob_changelist")

pytestmark = pytest.mark.django_db


def job(object_id: int, status: str, **fields) -> SyncJob:
    values = {
        "platform": PLATFORM,
        "entity": Entity.CUSTOMER,
        "object_id": object_id,
        "status": status,
        "next_attempt_at": timezone.now(),
        **fields,
    }
    return SyncJob.objects.create(**values)


def one_job_per_status() -> dict[str, SyncJob]:
    return {status: job(index, status) for index, status in enumerate(JobStatus.values, start=1)}


def tabs(response) -> dict[str, int]:
    return {tab["key"] or "all": tab["count"] for tab in response.context["history_tabs"]}


def listed(response) -> set[str]:
    return {row.status for row in response.context["cl"].result_list}


def test_the_history_has_the_seeds_tabs_including_deleted_with_their_counts(superuser_client):
    # Seed 003, step 5: "Go to the Processed tab." Issue 21: "tabs or filters for ready to
    # process, processed, failed, filtered, skipped and deleted".
    one_job_per_status()

    page = superuser_client.get(CHANGELIST)

    assert tabs(page) == {
        "all": 9,
        "ready": 2,  # pending, in flight
        "processed": 2,  # succeeded, no change
        "failed": 2,  # failed, aborted
        "filtered": 1,
        "skipped": 1,
        "deleted": 1,
    }
    html = page.content.decode()
    for label in ("Ready to process", "Processed", "Failed", "Filtered", "Skipped", "Deleted"):
        assert f"{label} <span" in html


@pytest.mark.parametrize(
    ("tab", "statuses"),
    [
        ("ready", {JobStatus.PENDING, JobStatus.IN_FLIGHT}),
        ("processed", {JobStatus.SUCCEEDED, JobStatus.NO_CHANGE}),
        ("failed", {JobStatus.FAILED, JobStatus.ABORTED}),
        ("filtered", {JobStatus.FILTERED}),
        ("skipped", {JobStatus.SKIPPED}),
        ("deleted", {JobStatus.DELETED}),
    ],
)
def test_each_tab_lists_its_jobs_and_the_other_tabs_keep_their_counts(
    superuser_client, tab, statuses
):
    one_job_per_status()

    page = superuser_client.get(CHANGELIST, {"tab": tab})

    assert listed(page) == statuses
    # The open tab narrows the list, not the counts of the others.
    assert tabs(page)["all"] == 9
    current = [t["key"] for t in page.context["history_tabs"] if t["current"]]
    assert current == [tab]


def test_the_tabs_are_per_platform_and_entity(superuser_client):
    # Seed 003, step 5: "specify the following settings: Store: SweetStore - BC; Entity:
    # Customer. Go to the Processed tab."
    job(1, JobStatus.SUCCEEDED)
    job(2, JobStatus.SUCCEEDED, entity=Entity.SITE)
    job(3, JobStatus.SUCCEEDED, platform="other")

    page = superuser_client.get(
        CHANGELIST, {"platform": PLATFORM, "entity__exact": Entity.CUSTOMER, "tab": "processed"}
    )

    assert [row.object_id for row in page.context["cl"].result_list] == [1]
    assert tabs(page)["processed"] == 1
    processed_tab = next(t for t in page.context["history_tabs"] if t["key"] == "processed")
    assert f"platform={PLATFORM}" in processed_tab["url"]
    assert "entity__exact=customer" in processed_tab["url"]
    html = page.content.decode()
    assert '<select id="history-platform" name="platform">' in html
    assert f'<option value="{PLATFORM}" selected>' in html
    assert '<option value="customer" selected>Customer</option>' in html


def test_last_operation_and_last_attempt_are_columns(superuser_client):
    # Seed 003, step 5: "the Last Operation column is set to Inserted Externally and the
    # time stamp in the Last Attempt column now shows the date and time when you ran data
    # processing".
    job(
        1,
        JobStatus.SUCCEEDED,
        operation=Operation.INSERTED,
        last_attempt_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
    )

    html = superuser_client.get(CHANGELIST).content.decode()

    assert "Last operation" in html and "Last attempt" in html
    assert '<td class="field-last_operation">Inserted externally</td>' in html
    assert '<td class="field-last_attempt">5 Jan 2026, 9:30 a.m.</td>' in html


def test_the_external_id_links_to_the_platform_record_where_the_connector_declares_its_url(
    superuser_client, monkeypatch
):
    # Seed 003, step 6: "click the link in the External ID column of that row. The Customer
    # details tab of the Edit customer page ... opens".
    connector = connector_for(PLATFORM)
    monkeypatch.setattr(
        type(connector),
        "record_url_templates",
        {Entity.CUSTOMER: "https://fake.example/accounts/{external_id}/edit"},
    )
    job(1, JobStatus.SUCCEEDED, external_id="A 7")
    job(2, JobStatus.SUCCEEDED, entity=Entity.SITE, external_id="L-9")

    html = superuser_client.get(CHANGELIST).content.decode()

    assert (
        '<a href="https://fake.example/accounts/A%207/edit" target="_blank" '
        'rel="noopener noreferrer">A 7</a>'
    ) in html
    # No address declared for sites: the id is shown, not linked.
    assert '<td class="field-external_id_link">L-9</td>' in html


def test_the_built_in_platforms_declare_no_record_address():
    # docs/sync-engine.md: none of Abillity, Affinity and Connect documents the address of
    # a record in its web application, so their External IDs are not links.
    for identifier in ("abillity", "affinity", "connect"):
        assert connector_for(identifier).record_url(Entity.CUSTOMER, "1") == ""
