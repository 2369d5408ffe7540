"""Bindings as a sync job reads them: each record's once, kept true by the job's own
writes, read again once the record's own job is claimed; and the worker's HTTP session."""

import pytest
import responses
from django.utils import timezone

from connectors import http
from connectors.engine.push import binding_bind as _bind
from connectors.errors import PermanentError
from connectors.models import Binding
from connectors.selectors import (
    binding_for,
    binding_forget,
    bindings_prefetch,
    bindings_read_once,
)

pytestmark = pytest.mark.django_db

PLATFORM, ENTITY = "fake", "customer"


def bound(role: str, object_id: int = 1, external_id: str = "") -> Binding:
    return Binding.objects.create(
        platform=PLATFORM, role=role, entity=ENTITY, object_id=object_id, external_id=external_id
    )


def bind(binding: Binding, external_id: str) -> None:
    _bind(binding, external_id, payload={}, digest="", now=timezone.now())


def test_in_a_job_a_records_bindings_are_read_once_for_every_role(django_assert_num_queries):
    bound("company", external_id="1")
    bound("billing_site", external_id="2")
    with bindings_read_once(), django_assert_num_queries(1):
        assert binding_for(PLATFORM, "company", ENTITY, 1).external_id == "1"
        assert binding_for(PLATFORM, "billing_site", ENTITY, 1).external_id == "2"
        assert binding_for(PLATFORM, "contact", ENTITY, 1) is None


def test_outside_a_job_every_look_reads_the_database(django_assert_num_queries):
    bound("company", external_id="1")
    with django_assert_num_queries(2):
        binding_for(PLATFORM, "company", ENTITY, 1)
        binding_for(PLATFORM, "company", ENTITY, 1)


def test_the_bindings_of_a_record_and_its_dependencies_come_in_one_query(
    django_assert_num_queries,
):
    bound("company", object_id=1, external_id="1")
    Binding.objects.create(platform=PLATFORM, role="site", entity="site", object_id=5)
    with bindings_read_once():
        with django_assert_num_queries(1):
            bindings_prefetch(PLATFORM, [(ENTITY, 1), ("site", 5), ("contact", 9)])
        with django_assert_num_queries(0):
            assert binding_for(PLATFORM, "company", ENTITY, 1).external_id == "1"
            assert binding_for(PLATFORM, "site", "site", 5).external_id == ""
            assert binding_for(PLATFORM, "contact", "contact", 9) is None


def test_a_claimed_records_bindings_are_read_again():
    with bindings_read_once():
        assert binding_for(PLATFORM, "company", ENTITY, 1) is None
        bound("company", external_id="9")  # another worker's job, before this claim
        binding_forget(PLATFORM, ENTITY, 1)  # the record's job is claimed here
        assert binding_for(PLATFORM, "company", ENTITY, 1).external_id == "9"


def test_a_binding_the_job_makes_is_seen_by_its_later_looks():
    with bindings_read_once():
        assert binding_for(PLATFORM, "company", ENTITY, 1) is None
        bind(Binding(platform=PLATFORM, role="company", entity=ENTITY, object_id=1), "5")
        assert binding_for(PLATFORM, "company", ENTITY, 1).external_id == "5"
    assert Binding.objects.get(role="company").external_id == "5"


def test_a_new_binding_goes_to_the_row_its_record_got_meanwhile():
    unsaved = Binding(platform=PLATFORM, role="company", entity=ENTITY, object_id=1)
    bound("company")  # made without an external id since the job read (an import, say)

    bind(unsaved, "5")

    assert list(Binding.objects.values_list("role", "external_id")) == [("company", "5")]


def test_a_new_binding_whose_record_was_bound_meanwhile_to_another_id_is_refused():
    unsaved = Binding(platform=PLATFORM, role="company", entity=ENTITY, object_id=1)
    bound("company", external_id="7")  # staff mapped it while the job made one

    with pytest.raises(PermanentError, match="was bound to 7 while 5 was being made"):
        bind(unsaved, "5")
    assert list(Binding.objects.values_list("external_id", flat=True)) == ["7"]


def test_a_new_binding_to_another_records_id_is_refused_naming_that_record():
    bound("company", object_id=2, external_id="5")
    unsaved = Binding(platform=PLATFORM, role="company", entity=ENTITY, object_id=1)
    bound("company")  # this record's empty row, made meanwhile

    with pytest.raises(PermanentError, match="fake company 5 is already bound to customer #2"):
        bind(unsaved, "5")


# --- the worker's HTTP session ------------------------------------------------------------
@responses.activate
def test_the_workers_session_carries_no_cookie_from_one_call_to_the_next():
    responses.get("https://platform.test/a", headers={"Set-Cookie": "sid=abc; Path=/"})
    responses.get("https://platform.test/b")
    session = http.worker_session("cookies")
    session.get("https://platform.test/a")
    session.get("https://platform.test/b")
    assert "Cookie" not in responses.calls[1].request.headers
    http.worker_sessions_close()


def test_the_workers_session_honours_a_proxy_set_in_the_environment(monkeypatch):
    http.worker_sessions_close()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    session = http.worker_session("proxied")
    assert session.trust_env  # requests reads HTTPS_PROXY and NO_PROXY on each call
    http.worker_sessions_close()
    monkeypatch.delenv("HTTPS_PROXY")
