"""The emulator enforces the documented contract (docs/affinity.md), over real HTTP."""

import pytest

from connectors.affinity.client import AffinityClient
from connectors.errors import ConfigurationError, PermanentError

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _account(client) -> str:
    return client.account_create({"reference": "LAYER-C1", "name": "Acme", "status": "active"})


def _site(client, account_id, reference="LAYER-S1") -> str:
    return client.site_create(
        {
            "account_id": account_id,
            "reference": reference,
            "name": "Head Office",
            "address_line1": "1 Park Row",
            "postcode": "LS1 5HN",
        }
    )


def test_a_call_without_the_api_key_is_refused_as_configuration(live_server, affinity_emulator):
    client = AffinityClient(f"{live_server.url}/sandbox/affinity/", api_key="wrong")
    with pytest.raises(ConfigurationError, match="invalid API key"):
        client.accounts_find("LAYER-C1")


def test_required_fields_and_duplicate_references_are_refused(affinity_client):
    with pytest.raises(PermanentError, match="name: name is required"):
        affinity_client.account_create({"reference": "LAYER-C1", "status": "active"})
    _account(affinity_client)
    with pytest.raises(PermanentError, match=r"409.*reference LAYER-C1 exists"):
        _account(affinity_client)


def test_a_site_needs_an_address_and_a_postcode(affinity_client):
    account_id = _account(affinity_client)
    with pytest.raises(PermanentError, match="postcode is required"):
        affinity_client.site_create(
            {"account_id": account_id, "reference": "S", "name": "X", "address_line1": "1 Road"}
        )


def test_a_ctn_number_must_be_in_uk_national_format(affinity_client):
    site_id = _site(affinity_client, _account(affinity_client))
    with pytest.raises(PermanentError, match="not a CTN in UK national format"):
        affinity_client.ctn_create({"site_id": site_id, "number": "+447700900123"})
    assert affinity_client.ctn_create({"site_id": site_id, "number": "07700900123"})


def test_a_number_cannot_have_two_live_ctns(affinity_client):
    site_id = _site(affinity_client, _account(affinity_client))
    affinity_client.ctn_create({"site_id": site_id, "number": "07700900123"})
    with pytest.raises(PermanentError, match=r"409.*is live already"):
        affinity_client.ctn_create({"site_id": site_id, "number": "07700900123"})


def test_a_site_product_needs_a_price_book_code_and_a_ctn_of_its_own_site(affinity_client):
    account_id = _account(affinity_client)
    site_id = _site(affinity_client, account_id)
    other_site = _site(affinity_client, account_id, reference="LAYER-S2")
    ctn_id = affinity_client.ctn_create({"site_id": other_site, "number": "07700900123"})
    base = {"site_id": site_id, "reference": "LAYER-A1", "quantity": 1}
    with pytest.raises(PermanentError, match="not in the price book"):
        affinity_client.site_product_create({**base, "product_code": "NOPE"})
    with pytest.raises(PermanentError, match="is on another site"):
        affinity_client.site_product_create(
            {**base, "product_code": "MOB-SIM-30", "ctn_id": ctn_id}
        )
    with pytest.raises(PermanentError, match="CTN CTN99999 does not exist"):
        affinity_client.site_product_create(
            {**base, "product_code": "MOB-SIM-30", "ctn_id": "CTN99999"}
        )
    assert affinity_client.site_product_create({**base, "product_code": "MOB-SIM-30"})


def test_fields_fixed_at_creation_cannot_be_patched(affinity_client):
    account_id = _account(affinity_client)
    with pytest.raises(PermanentError, match="reference is set on creation"):
        affinity_client.account_update(account_id, {"reference": "OTHER"})


def test_lists_are_read_page_by_page(affinity_client, affinity_emulator, monkeypatch):
    monkeypatch.setattr("connectors.affinity.client.PAGE_SIZE", 2)
    for n in range(5):
        affinity_client.account_create({"reference": f"R{n}", "name": "A", "status": "active"})
    assert len(affinity_client._list("accounts")) == 5
    assert len(affinity_emulator.calls("GET", "accounts")) == 3
