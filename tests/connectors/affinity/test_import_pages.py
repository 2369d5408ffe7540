"""Affinity's imports from their admin page, run in the background (issue 22: "the
call-charge import and the Affinity imports run as Celery tasks ... the page shows
progress and then the result"); the rules of the rows are docs/affinity.md's, tested in
test_imports.py."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import BackgroundImport
from connectors.models import AffinityImport
from tests.factories import SiteFactory, UserFactory

from .helpers import billed_customer, external_id, integration

ADD = reverse("admin:connectors_affinityimport_add")
LINK_HEADER = "Application Name,Entity Id,Entity Type,Integration Id\n"


@pytest.fixture
def sites(affinity):
    integration(False)
    customer = billed_customer()
    second = SiteFactory(customer=customer, name="Depot")
    integration(True)
    return customer.sites.get(is_default=True), second


def post(client, capture, content: str, **options):
    data = {"kind": "affinity_links", "file": SimpleUploadedFile("links.csv", content.encode())}
    with capture(execute=True):
        return client.post(ADD, {**data, **options})


def test_a_links_file_imports_in_the_background_and_its_page_shows_the_outcome(
    sites, superuser_client, django_capture_on_commit_callbacks
):
    head, _depot = sites
    content = LINK_HEADER + f"Aurora Affinity,{head.pk},19,SIT00501\n"

    answer = post(superuser_client, django_capture_on_commit_callbacks, content)

    job = AffinityImport.objects.get()
    assert answer.url == reverse("admin:connectors_affinityimport_change", args=[job.pk])
    assert job.status == "succeeded" and job.message == "1 row: 1 applied, 0 unchanged, 0 bad."
    assert external_id("site", "site", head) == "SIT00501"
    page = superuser_client.get(answer.url).content.decode()
    assert "1 row: 1 applied" in page
    assert reverse("admin:connectors_affinityimport_status", args=[job.pk]) in page


def test_a_bad_row_applies_nothing_and_the_page_lists_it_with_its_line(
    sites, superuser_client, django_capture_on_commit_callbacks
):
    head, _ = sites
    content = LINK_HEADER + f"Aurora Affinity,{head.pk},19,SIT00501\nAbillity,{head.pk},19,X1\n"

    answer = post(superuser_client, django_capture_on_commit_callbacks, content)

    job = AffinityImport.objects.get()
    assert job.status == "refused"
    assert [e["line"] for e in job.errors] == [3]
    assert external_id("site", "site", head) == ""
    page = superuser_client.get(answer.url).content.decode()
    assert "must be Aurora Affinity" in page and "nothing was applied" in page


def test_apply_the_good_rows_from_the_page(
    sites, superuser_client, django_capture_on_commit_callbacks
):
    head, _ = sites
    content = LINK_HEADER + f"Aurora Affinity,{head.pk},19,SIT00501\nAbillity,{head.pk},19,X1\n"

    post(superuser_client, django_capture_on_commit_callbacks, content, apply_good_rows="on")

    job = AffinityImport.objects.get()
    assert job.status == "succeeded" and job.result["applied"] == 1
    assert external_id("site", "site", head) == "SIT00501"


def test_a_file_with_other_headers_is_refused_whole(
    sites, superuser_client, django_capture_on_commit_callbacks
):
    post(superuser_client, django_capture_on_commit_callbacks, "OBJECTUID,When\n1,2\n")

    job = AffinityImport.objects.get()
    assert job.status == "refused" and "Nothing was imported" in job.message


def test_a_cease_file_goes_to_the_cease_import(
    sites, superuser_client, django_capture_on_commit_callbacks
):
    content = "OBJECTUID,Completed On\nNO-SUCH-UID,2025-05-31\n"

    post(superuser_client, django_capture_on_commit_callbacks, content, kind="affinity_ceases")

    job = AffinityImport.objects.get()
    assert job.kind == "affinity_ceases" and job.status == "refused"
    assert "is not the Affinity id of any asset" in job.errors[0]["message"]


def test_importing_needs_the_permission(client, db):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(ADD).status_code == 403
    assert not BackgroundImport.objects.exists()
