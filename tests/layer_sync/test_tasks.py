"""layer_sync.tasks.enqueue_on_commit: a task is published after the transaction that
queued it commits, and never when it rolls back."""

import pytest
from django.db import transaction

from layer_sync import celery_app
from layer_sync.tasks import enqueue_on_commit

published: list[tuple] = []


@celery_app.task(name="tests.layer_sync.record_publication")
def record_publication(*args):
    published.append(args)


@pytest.fixture(autouse=True)
def eager_tasks():
    # Run the task in-process whatever broker the environment names, so a call is seen
    # here the moment it is published.
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    published.clear()
    yield
    celery_app.conf.task_always_eager = was_eager
    published.clear()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_is_published_only_after_the_transaction_commits():
    with transaction.atomic():
        enqueue_on_commit(record_publication, 7, "customer")
        assert published == []

    assert published == [(7, "customer")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_is_never_published_when_the_transaction_rolls_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(record_publication, 7)
        raise RuntimeError("the change fails")

    assert published == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_queued_in_a_rolled_back_savepoint_is_not_published():
    with transaction.atomic():
        enqueue_on_commit(record_publication, "kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit(record_publication, "discarded")
            raise RuntimeError("the inner change fails")

    assert published == [("kept",)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_queued_outside_a_transaction_is_published_at_once():
    enqueue_on_commit(record_publication, 7)

    assert published == [(7,)]


@pytest.mark.django_db
def test_a_task_is_published_once_per_enqueue_when_the_commit_callbacks_run(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(record_publication, 1)
        enqueue_on_commit(record_publication, 2)
        assert published == []

    assert len(callbacks) == 2
    assert published == [(1,), (2,)]


@celery_app.task(name="tests.layer_sync.always_fails")
def always_fails(*args):
    raise ConnectionError("broker or task failure")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failing_publish_never_undoes_or_fails_the_committed_change(caplog):
    from customers.models import CustomerClass

    with transaction.atomic():
        CustomerClass.objects.create(code="KEPT")
        enqueue_on_commit(always_fails, 3)

    assert CustomerClass.objects.filter(code="KEPT").exists()
    assert "tests.layer_sync.always_fails" in caplog.text
