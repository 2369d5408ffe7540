"""Shared fixtures."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def transactional_db(_django_db_helper, django_db_serialized_rollback):
    """pytest-django's ``transactional_db``, always with serialized rollback.

    A transactional test ends by flushing every table, which would also remove the
    rows the data migrations made (billing platforms, company settings) and let
    ``post_migrate`` recreate content types under new ids; a later serialized test
    then fails to restore its snapshot. Restoring the snapshot after every
    transactional test keeps the database as migrations left it.
    """


@pytest.fixture(autouse=True)
def _worker_sessions_closed():
    """The sync engine keeps a kept-alive HTTP session per platform for the thread's
    life; in tests, no connection may outlive the test (and its live server's state)."""
    yield
    from connectors.http import worker_sessions_close

    worker_sessions_close()


@pytest.fixture(autouse=True)
def _emulators_at_the_live_server(request):
    """A test served by the live server reaches the emulators there, as a real server's
    connectors reach their own (layer_sync.server): the live server runs in this process,
    so its emulators are this test's. A test's own fixture may still point elsewhere."""
    if "live_server" in request.fixturenames:
        settings = request.getfixturevalue("settings")
        settings.SANDBOX_BASE_URL = request.getfixturevalue("live_server").url


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def superuser(db):
    """A staff superuser (the admin tests' user)."""
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_client(client, superuser):
    """The test client, logged in as `superuser`."""
    client.force_login(superuser)
    return client


@pytest.fixture
def record_signal():
    """Connect a recorder to a signal for the test; returns the list of calls it sees."""
    connected = []

    def record(signal):
        calls = []

        def receiver(sender, **kwargs):
            calls.append({"sender": sender, **kwargs})

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return calls

    yield record
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def redacted_caplog(caplog):
    """``caplog`` with the redacting filter settings.LOGGING installs on its handlers.

    pytest keeps one capture handler for the whole session, so the filter is taken off
    again after the test: left on, it would drop the traceback (``exc_info``) of every
    record later tests capture.
    """
    from connectors.redaction import RedactingFilter

    redacting = RedactingFilter()
    caplog.handler.addFilter(redacting)
    yield caplog
    caplog.handler.removeFilter(redacting)
