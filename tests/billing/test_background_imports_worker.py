"""A real Celery worker imports a 100,000-row call charge file posted through the page,
while this process follows its progress as the page does (the status JSON).

The issue's "Imports in the background" (issue 22): the import runs as a Celery task and
the page shows progress and then the result. Needs PostgreSQL and Redis, as the other
real-worker tests (tests/connectors/test_worker.py); without them it skips, saying why.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from billing.models import BackgroundImport, ChargeImport
from tests.connectors.worker_helpers import (
    REDIS_URL,
    CeleryWorker,
    celery_publishing,
    queue_delete,
    redis_problem,
    unique_queue,
)
from tests.factories import AccountCodeFactory, CustomerFactory, UserFactory

from .call_charge_helpers import import_settings
from .test_call_charges_large import ROWS, big_file

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: the worker is a separate process, which cannot open "
        "SQLite's in-memory test database",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT = 180


@pytest.fixture
def worker(live_server, tmp_path, settings):
    problem = redis_problem()
    if problem:
        pytest.skip(f"needs Redis for a real Celery worker: {problem}")
    queue = unique_queue()
    worker = CeleryWorker(
        queue=queue, broker_url=REDIS_URL, sandbox_url=live_server.url, log_path=tmp_path / "w.log"
    )
    worker.start()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_publishing(broker_url=REDIS_URL, queue=queue):
        yield worker
    worker.stop()
    queue_delete(queue)


def test_a_real_worker_imports_100000_rows_while_the_page_follows_its_progress(client, worker):
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    settings = import_settings()
    form = {
        "location": settings["location"].pk,
        "import_type": "essensys_call_logger",
        "product_group": settings["product_group"].pk,
        "product": settings["product"].pk,
        "batch_date": "2025-07-01",
        "reference_date": "2025-06-30",
        "file": SimpleUploadedFile("big.csv", big_file()),
    }

    answer = client.post(reverse("admin:billing_chargeimport_add"), form)

    # The request only saved the file and queued the task: nothing imported yet.
    assert answer.status_code == 302
    job = BackgroundImport.objects.get()
    status_url = reverse("admin:billing_backgroundimport_status", args=[job.pk])
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        body = client.get(status_url).json()
        seen.append((body["status"], body["phase"], body["done"]))
        if body["finished"]:
            break
        time.sleep(0.2)
    assert body["finished"], (seen[-3:], worker.describe())
    assert body["status"] == "succeeded", body["message"]
    # Followed while it ran: it was seen unfinished, then done.
    assert any(status in ("queued", "running") for status, _, _ in seen)
    charge_import = ChargeImport.objects.get()
    assert charge_import.row_count == ROWS
    assert "billing.background_import_run" in worker.log()
    page = client.get(answer.url).content.decode()
    assert f"Imported {ROWS} rows" in page
