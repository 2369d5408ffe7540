"""The aBILLity client: paths, header credentials, and each error class (unit tests)."""

import json

import pytest
import responses

from connectors.abillity.client import AbillityClient, abillity_date
from connectors.errors import ConfigurationError, NotFoundError, PermanentError, RecoverableError

BASE = "https://abillity.example.test/api/"


def client(**overrides) -> AbillityClient:
    credentials = {"system_information": "acme", "username": "layer", "password": "pw-123456"}
    credentials.update(overrides)
    return AbillityClient(BASE, timeout=(1, 1), **credentials)


@responses.activate
def test_every_call_carries_the_three_header_credentials():
    responses.post(BASE + "company", json={"Id": 7})
    assert client().company_create({"Name": "Acme", "IsCustomer": True}) == 7
    headers = responses.calls[0].request.headers
    assert headers["SystemInformation"] == "acme"
    assert headers["username"] == "layer"
    assert headers["password"] == "pw-123456"
    assert json.loads(responses.calls[0].request.body) == {"Name": "Acme", "IsCustomer": True}


def test_a_missing_credential_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigurationError, match="ABILLITY_PASSWORD"):
        client(password="").company_list()


@responses.activate
def test_site_create_sends_company_short_name_and_account_ref():
    responses.post(BASE + "site", json={"Id": 12})
    assert client().site_create(company_id=3, short_name="S000001", account_ref="SAGE1") == 12
    assert json.loads(responses.calls[0].request.body) == {
        "CompanyId": 3,
        "ShortName": "S000001",
        "AccountRef": "SAGE1",
    }


@responses.activate
def test_a_site_without_a_sage_number_is_created_without_account_ref():
    responses.post(BASE + "site", json={"Id": 12})
    client().site_create(company_id=3, short_name="S1")
    assert "AccountRef" not in json.loads(responses.calls[0].request.body)


@responses.activate
def test_set_billing_address_points_a_site_at_the_billing_site():
    responses.patch(BASE + "site/5/setbillingaddress", body="")
    client().site_set_billing_address(5, 2)
    assert json.loads(responses.calls[0].request.body) == {"Id": 2}


@responses.activate
def test_a_404_on_a_list_route_is_an_empty_list():
    responses.get(BASE + "company", status=404, json={"Message": "No companies found"})
    responses.get(BASE + "company/4/Site", status=404, json={"Message": "No sites found"})
    responses.get(BASE + "site/4/SiteContact", status=404, json={"Message": "No contacts"})
    responses.get(BASE + "cli/bycli/07700900123", status=404, json={"Message": "CLI not found"})
    assert client().company_list() == []
    assert client().company_sites(4) == []
    assert client().site_contacts(4) == []
    assert client().clis_by_number("07700900123") == []


@responses.activate
def test_a_404_on_a_single_record_is_a_not_found_error():
    responses.get(BASE + "site/99", status=404, json={"Message": "Site with id = 99 not found"})
    with pytest.raises(NotFoundError, match="Site with id = 99 not found"):
        client().site_get(99)


@pytest.mark.parametrize("status", [400, 409])
@responses.activate
def test_validation_refusals_are_permanent_with_the_platforms_message(status):
    responses.post(BASE + "site", status=status, json={"Message": "Site short name already exists"})
    with pytest.raises(PermanentError, match="Site short name already exists") as refused:
        client().site_create(company_id=1, short_name="S1")
    assert refused.value.status_code == status
    assert not isinstance(refused.value, NotFoundError)


@responses.activate
def test_a_401_is_a_configuration_error():
    responses.get(BASE + "company", status=401, json={"Message": "Authorization has been denied"})
    with pytest.raises(ConfigurationError, match="Authorization has been denied"):
        client().company_list()


@pytest.mark.parametrize(
    "message", ["Invalid bill run id 9", "Non-customers can not have a bill run set"]
)
@responses.activate
def test_a_403_for_a_site_rule_refuses_the_data_permanently(message):
    responses.patch(BASE + "site/5", status=403, json={"Message": message})
    with pytest.raises(PermanentError, match=message) as refused:
        client().site_update(5, {"BillRunID": 9})
    assert not isinstance(refused.value, ConfigurationError)


@responses.activate
def test_a_403_saying_only_a_cp_user_may_is_a_configuration_error():
    responses.patch(
        BASE + "site/5", status=403, json={"Message": "Only a CP user can update the AccountRef"}
    )
    with pytest.raises(ConfigurationError, match="Only a CP user"):
        client().site_update(5, {"AccountRef": "ACME001"})


@pytest.mark.parametrize("status", [429, 500, 502, 503])
@responses.activate
def test_busy_and_server_errors_are_recoverable(status):
    responses.post(
        BASE + "company", status=status, json={"Message": "busy"}, headers={"Retry-After": "7"}
    )
    with pytest.raises(RecoverableError) as failed:
        client().company_create({"Name": "Acme"})
    if status == 429:
        assert failed.value.retry_after == 7


@responses.activate
def test_a_timeout_is_recoverable():
    import requests

    responses.get(BASE + "company/1", body=requests.Timeout("read timed out"))
    with pytest.raises(RecoverableError, match="did not answer"):
        client().company_get(1)


@responses.activate
def test_the_password_never_appears_in_an_error_message():
    responses.get(BASE + "company/1", status=400, json={"Message": "bad password pw-123456"})
    with pytest.raises(PermanentError) as refused:
        client().company_get(1)
    assert "pw-123456" not in refused.value.message


def test_dates_are_sent_without_an_offset():
    from datetime import date

    assert abillity_date(date(2026, 3, 1)) == "2026-03-01T00:00:00"
    assert abillity_date(None) is None


@responses.activate
def test_a_company_list_by_name_asks_with_the_name_parameter():
    responses.get(BASE + "company", json=[{"Id": 4, "Name": "Acme Ltd"}])
    assert client().company_list(name="Acme Ltd") == [{"Id": 4, "Name": "Acme Ltd"}]
    assert responses.calls[0].request.params == {"Name": "Acme Ltd"}


@responses.activate
def test_the_company_look_up_holds_when_the_system_ignores_the_name_parameter():
    """A system answering every company to ?Name= still gives the right one."""
    from connectors.abillity.sync import AbillityConnector

    every = [{"Id": 1, "Name": "Acme"}, {"Id": 2, "Name": " acme ltd "}, {"Id": 3, "Name": "B"}]
    responses.get(BASE + "company", json=every)
    found = AbillityConnector().lookup("customer", None, {"Name": "Acme Ltd"}, client())
    assert found == "2"
