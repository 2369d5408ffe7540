"""Secrets stay out of attempt rows, error messages and log lines."""

import io
import json
import logging
import sys
from urllib.parse import quote, quote_plus

import pytest
from django.utils.module_loading import import_string

from connectors import redaction
from connectors.choices import JobStatus
from connectors.models import SyncAttempt, SyncJob
from connectors.redaction import MASK, RedactingFilter, excerpt, redact, redact_mapping
from layer_sync import settings as base_settings
from tests.connectors.engine_helpers import job_of
from tests.connectors.fake import FakeConnector
from tests.factories import CustomerFactory

# Recognisable, and awkward: it changes when URL-encoded or written into JSON.
PASSWORD = 'Abl!P4ss/w0rd"&x=1'


@pytest.fixture
def secrets(settings):
    settings.ABILLITY_PASSWORD = PASSWORD
    return {"ABILLITY_PASSWORD": PASSWORD, "FAKE_API_KEY": settings.FAKE_API_KEY}


def forms_of(secret: str) -> list[str]:
    """The ways a secret may be written into text."""
    return [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]]


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [
        f"{name} ({form!r})"
        for name, value in secrets.items()
        for form in forms_of(value)
        if form in text
    ]


# --- redact ----------------------------------------------------------------------------------
def test_every_configured_secret_is_masked_in_every_form_it_takes_in_text(secrets):
    for name, value in secrets.items():
        for form in forms_of(value):
            text = f"before {form} after"
            assert redact(text) == f"before {MASK} after", (name, form)


def test_a_connectors_own_secret_settings_are_masked(settings):
    settings.FAKE_API_KEY = "rotated-key-1234"  # FakeConnector.secrets names it

    assert redact("sent rotated-key-1234") == f"sent {MASK}"


def test_values_too_short_to_be_secrets_are_left_alone(settings):
    settings.ABILLITY_PASSWORD = "abc"

    assert redact("abc def") == "abc def"


def test_a_secret_registered_at_run_time_is_masked(monkeypatch):
    monkeypatch.setattr(redaction, "_extra_secrets", set())
    redaction.register_secret("session-token-998877")
    redaction.register_secret("ab")  # too short: ignored

    assert redact("token session-token-998877, ab") == f"token {MASK}, ab"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "hunter22", "name": "Acme"}', f'{{"password": "{MASK}", "name": "Acme"}}'),
        ('{"Api-Key":"k\\"ey", "n": 1}', f'{{"Api-Key":"{MASK}", "n": 1}}'),
        (
            "{'X-Api-Key': 'abcd1234', 'Accept': 'json'}",
            f"{{'X-Api-Key': '{MASK}', 'Accept': 'json'}}",
        ),
        ('{"systemInformation": "sys-77"}', f'{{"systemInformation": "{MASK}"}}'),
        ("GET /x?user=ann&password=hunter22&page=2", f"GET /x?user=ann&password={MASK}&page=2"),
        ("api_key=abc123 sent", f"api_key={MASK} sent"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: Basic {MASK}"),
        ("authorization: Bearer eyJhbGciOi.x.y, next", f"authorization: Bearer {MASK}, next"),
        ("X-Api-Key: abcd1234\nAccept: json", f"X-Api-Key: {MASK}\nAccept: json"),
        ('{"name": "Token Ltd", "reference": "C1"}', '{"name": "Token Ltd", "reference": "C1"}'),
        ("", ""),
    ],
)
def test_credential_looking_fields_are_masked_and_others_kept(text, expected):
    assert redact(text) == expected


# --- redact_mapping and excerpt ----------------------------------------------------------------
def test_redact_mapping_masks_credential_keys_at_any_depth_and_leaves_the_input_alone():
    data = {
        "X-Api-Key": "k1",
        "name": "Acme",
        "auth": {"password": "p1", "username": "ann"},
        "people": [{"token": "t1", "email": "a@example.test"}, "plain"],
    }
    original = json.loads(json.dumps(data))

    masked = redact_mapping(data)

    assert masked == {
        "X-Api-Key": MASK,
        "name": "Acme",
        "auth": {"password": MASK, "username": "ann"},
        "people": [{"token": MASK, "email": "a@example.test"}, "plain"],
    }
    assert data == original


def test_an_excerpt_is_redacted_text_of_any_body(secrets):
    assert excerpt(None) == excerpt(b"") == excerpt("") == ""
    assert (
        excerpt({"password": "p1", "name": "Acme"}) == f'{{"password": "{MASK}", "name": "Acme"}}'
    )
    assert excerpt([{"token": "t"}, 3]) == f'[{{"token": "{MASK}"}}, 3]'
    assert excerpt(f"key {secrets['FAKE_API_KEY']}".encode()) == f"key {MASK}"
    assert excerpt(b"\xff bad bytes") == "\ufffd bad bytes"


def test_a_long_excerpt_is_cut_saying_how_much_was_left_out():
    text = excerpt("x" * 2100)

    assert text == "x" * 2000 + "… (100 more characters)"


# --- log lines -----------------------------------------------------------------------------------
def log_record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_the_logging_filter_masks_secrets_in_the_message_its_arguments_and_the_traceback(
    secrets,
):
    try:
        raise RuntimeError(f"login refused for {PASSWORD}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = log_record(
        "calling with %s and %r", secrets["FAKE_API_KEY"], {"password": "p1"}, exc_info=exc_info
    )

    assert RedactingFilter().filter(record) is True

    formatted = logging.Formatter().format(record)
    assert leaks(formatted, secrets) == []
    assert f"calling with {MASK} and {{'password': '{MASK}'}}" in formatted
    assert "RuntimeError: login refused for ********" in formatted


def test_a_malformed_log_record_is_passed_on_for_the_formatter_to_report():
    record = log_record("two %s %s", "one")

    assert RedactingFilter().filter(record) is True
    assert record.msg == "two %s %s"


def test_the_settings_put_the_redacting_filter_on_the_console_handler(secrets):
    config = base_settings.LOGGING
    handler_config = config["handlers"]["console"]
    (filter_name,) = handler_config["filters"]
    filter_class = import_string(config["filters"][filter_name]["()"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(filter_class())
    logger = logging.getLogger("tests.redaction.console")
    logger.addHandler(handler)
    try:
        logger.error("password=%s key %s", PASSWORD, secrets["FAKE_API_KEY"])
    finally:
        logger.removeHandler(handler)

    assert filter_class is RedactingFilter
    assert config["root"]["handlers"] == ["console"]
    assert leaks(stream.getvalue(), secrets) == []
    assert stream.getvalue() == f"password={MASK} key {MASK}\n"


# --- end to end: nothing stored or logged holds a secret ------------------------------------
def stored_text() -> str:
    """Every text the engine stored: attempt rows and job errors."""
    attempts = SyncAttempt.objects.values_list(
        "path", "request_excerpt", "response_excerpt", "error"
    )
    jobs = SyncJob.objects.values_list("last_error", "filtered_by", "reason", "object_repr")
    return "\n".join(" ".join(row) for row in [*attempts, *jobs])


def test_no_secret_reaches_an_attempt_row_a_job_error_or_a_log_line(
    fake_platform, settings, secrets, monkeypatch, redacted_caplog
):
    caplog = redacted_caplog  # the redacting filter on, as settings.LOGGING has it
    caplog.set_level(logging.DEBUG)

    # A payload that carries a secret (sent, and echoed back by the platform).
    echoed = CustomerFactory(name="Echo Ltd", registered_company_name=f"Echo {PASSWORD}")
    # The platform quotes a wrong key back in its 401.
    settings.FAKE_API_KEY = "wrong-key-5566-aabb"
    refused = CustomerFactory(name="Refused Ltd")
    settings.FAKE_API_KEY = secrets["FAKE_API_KEY"]
    # A defect of ours whose message (and traceback) holds a credential.
    monkeypatch.setattr(
        FakeConnector,
        "build_payload",
        lambda self, entity, record: (_ for _ in ()).throw(
            ValueError(f"could not log in with {PASSWORD} / {settings.FAKE_API_KEY}")
        ),
    )
    broken = CustomerFactory(name="Broken Ltd")

    assert job_of(echoed).status == JobStatus.SUCCEEDED
    assert "Invalid API key" in job_of(refused).last_error
    assert job_of(broken).status == JobStatus.FAILED
    checked = {**secrets, "the wrong key": "wrong-key-5566-aabb"}
    assert SyncAttempt.objects.count() >= 3
    assert leaks(stored_text(), checked) == []
    assert MASK in stored_text()
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "failed unexpectedly" in logged
    assert leaks(logged, checked) == []
    # The emulator's own request log masks the key header too.
    for call in fake_platform.calls():
        assert call["headers"]["X-Api-Key"] == MASK
