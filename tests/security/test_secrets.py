"""No platform credential in any log line, attempt row, job error, API error message,
emulator log or Celery task argument.

Recognisable fake credentials are configured for all three platforms, and syncs are run
against the emulators over real HTTP: a success, a 4xx refusal whose message echoes the
credentials back, a 401 (a configuration error, also echoing them), and a timeout. Then
everything the run left behind is searched for each secret in every form it may take
(as set, URL-encoded, JSON-escaped). tests/connectors/test_redaction.py covers the
redactor itself with the fake platform; this covers the three real connectors.
"""

from __future__ import annotations

import io
import logging

import pytest
from celery.app.task import Task
from django.utils import timezone
from django.utils.module_loading import import_string

# Registers the three connectors and their emulators.
import connectors.abillity.sync
import connectors.affinity.sync
import connectors.connect.sync  # noqa: F401
from billing.models import BillingPlatform
from connectors import redaction
from connectors.base import registered
from connectors.choices import JobStatus
from connectors.connect.services import connect_client_send
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.engine.queue import job_request
from connectors.engine.sweep import jobs_process_due
from connectors.errors import SyncError
from connectors.models import Binding, SyncAttempt, SyncJob, ValueMapping
from connectors.sandbox import emulator_for
from layer_sync import settings as base_settings
from tests.connectors.test_redaction import leaks
from tests.factories import CustomerFactory, SiteAddressFactory, SiteFactory

# Recognisable, and awkward: each changes when URL-encoded or written into JSON.
SECRETS = {
    "ABILLITY_PASSWORD": 'abl-PW/"secret&=1-6d1f',
    "ABILLITY_SYSTEM_INFORMATION": "abl-SYS secret+7a2e",
    "AFFINITY_API_KEY": "aff-KEY/secret?8b3c",
    "CONNECT_API_TOKEN": "con-TOKEN secret#9c4d",
}
PLATFORMS = ("abillity", "affinity", "connect")


def test_every_platform_secret_setting_is_redacted():
    connector_secrets = {name for c in registered().values() for name in c.secrets}

    assert set(SECRETS) <= set(redaction.SECRET_SETTINGS)
    assert {"ABILLITY_PASSWORD", "ABILLITY_SYSTEM_INFORMATION"} <= set(
        registered()["abillity"].secrets
    )
    assert "AFFINITY_API_KEY" in registered()["affinity"].secrets
    assert "CONNECT_API_TOKEN" in registered()["connect"].secrets
    assert set(SECRETS) <= connector_secrets | set(redaction.SECRET_SETTINGS)


@pytest.fixture
def platforms(transactional_db, live_server, settings):
    """The three emulators over real HTTP, expecting the fake credentials; integrations on."""
    settings.SANDBOX_BASE_URL = live_server.url
    for name in ("ABILLITY_API_URL", "AFFINITY_API_URL", "CONNECT_API_URL"):
        setattr(settings, name, "")
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    settings.ABILLITY_USERNAME = "layer-user"
    settings.SYNC_READ_TIMEOUT = 0.5
    emulators = {code: emulator_for(code) for code in PLATFORMS}
    for emulator in emulators.values():
        emulator.reset()
    for code, name in (("layer", "The Layer"), *((c, c.capitalize()) for c in PLATFORMS)):
        BillingPlatform.objects.update_or_create(
            code=code, defaults={"name": name, "integration_enabled": code != "layer"}
        )
    entity_settings_ensure()
    for kind, value in (("bill_run", "Monthly 1st"), ("payment_method", "Direct Debit")):
        ValueMapping.objects.update_or_create(
            platform="abillity", kind=kind, layer_value=value, defaults={"external_value": "1"}
        )
    yield emulators
    for emulator in emulators.values():
        emulator.reset()


@pytest.fixture
def published(monkeypatch) -> list[tuple]:
    """Every Celery task publish (eager or not): its name, args and kwargs."""
    calls: list[tuple] = []
    original_apply_async, original_apply = Task.apply_async, Task.apply

    def apply_async(self, args=None, kwargs=None, **options):
        calls.append((self.name, args, kwargs, options))
        return original_apply_async(self, args, kwargs, **options)

    def apply(self, args=None, kwargs=None, **options):
        calls.append((self.name, args, kwargs, options))
        return original_apply(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    monkeypatch.setattr(Task, "apply", apply)
    return calls


@pytest.fixture
def console():
    """The settings' console handler (its formatter and redacting filter) on the root
    logger at DEBUG, writing to a buffer."""
    config = base_settings.LOGGING
    handler_config = config["handlers"]["console"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(config["formatters"]["plain"]["format"]))
    for name in handler_config["filters"]:
        handler.addFilter(import_string(config["filters"][name]["()"])())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def echoing_refusal(status: int):
    """An emulator ``authenticate`` that refuses every call, quoting the credentials it got
    (as a careless platform might)."""
    from connectors.sandbox import EmulatorResponse

    def authenticate(request):
        quoted = " / ".join(request.headers.values())  # the values alone, no field names
        return EmulatorResponse(
            status,
            {"Message": f"Refused the credentials {quoted}", "message": f"Bad login: {quoted}"},
        )

    return authenticate


def customer_with_site(name: str):
    customer = CustomerFactory(
        name=name,
        bill_run="Monthly 1st",
        payment_terms="30 days",
        payment_method="Direct Debit",
    )
    link = SiteAddressFactory(site=SiteFactory(customer=customer, is_default=True))
    return customer, link.site


def run_all_due() -> None:
    for _ in range(5):
        SyncJob.objects.filter(status=JobStatus.PENDING).update(next_attempt_at=timezone.now())
        jobs_process_due()


def stored_text() -> str:
    """Every text field of every attempt, job and binding row."""
    rows = [
        *SyncAttempt.objects.values_list(),
        *SyncJob.objects.values_list(),
        *Binding.objects.values_list(),
    ]
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def test_no_credential_reaches_a_log_line_a_row_an_error_or_a_task_argument(
    platforms, published, console, redacted_caplog, monkeypatch
):
    caplog = redacted_caplog  # the redacting filter on, as settings.LOGGING has it
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []

    # 1. Success: a customer and its site synced to Abillity and Affinity on commit.
    synced, _ = customer_with_site("Secret Success Ltd")
    result = connect_client_send(customer_id=synced.pk)
    assert result.created

    # 2. A 4xx refusal (Abillity 400, Affinity 400) that echoes the credentials back.
    for code in ("abillity", "affinity"):
        monkeypatch.setattr(platforms[code], "authenticate", echoing_refusal(400))
    customer_with_site("Secret Refused Ltd")

    # 3. A 401 echoing them: a configuration error (bad credentials), Connect included.
    for code in PLATFORMS:
        monkeypatch.setattr(platforms[code], "authenticate", echoing_refusal(401))
    misconfigured, _ = customer_with_site("Secret Config Ltd")
    job_request(platform="abillity", entity="customer", object_id=misconfigured.pk, reason="x")
    run_all_due()
    with pytest.raises(SyncError) as connect_refusal:
        connect_client_send(customer_id=misconfigured.pk)
    errors.append(str(connect_refusal.value))
    errors.append(connect_refusal.value.message)

    # 4. A timeout: every platform hangs past the read timeout.
    for code in PLATFORMS:
        monkeypatch.setattr(platforms[code], "authenticate", lambda request: None)
        platforms[code].faults_set(hang_next=3, hang_seconds=1.0)
    slow, _ = customer_with_site("Secret Slow Ltd")
    with pytest.raises(SyncError) as connect_timeout:
        connect_client_send(customer_id=slow.pk)
    errors.append(str(connect_timeout.value))

    jobs = SyncJob.objects.all()
    statuses = {(j.platform, j.object_repr): j.status for j in jobs}
    last_errors = " ".join(j.last_error for j in jobs)
    assert SyncAttempt.objects.count() >= 6
    assert any(s == JobStatus.SUCCEEDED for s in statuses.values()), statuses
    assert any(s == JobStatus.FAILED for s in statuses.values()), statuses
    assert "Refused the credentials" in last_errors or "Bad login" in last_errors
    assert redaction.MASK in stored_text()
    assert published, "no task was published: the capture did not work"

    # What our clients sent, as the emulators logged it (their staff page shows it); the
    # answers are the platform's own words (here made to echo the secrets on purpose).
    emulator_logs = " ".join(
        f"{call['path']} {call['query']} {call['headers']} {call['body']}"
        for emulator in platforms.values()
        for call in emulator.snapshot()["requests"]
    )
    logged = caplog.text + "\n" + console.getvalue()
    assert logged.strip(), "nothing was logged: the capture did not work"
    assert leaks(stored_text(), SECRETS) == []
    assert leaks("\n".join(errors), SECRETS) == []
    assert leaks(logged, SECRETS) == []
    assert leaks(str(published), SECRETS) == []
    assert leaks(emulator_logs, SECRETS) == []
