"""The initial linking import and the cease import: strict headers, a clear error per bad
row with its line number, nothing applied when a row is bad unless asked."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command

from billing.choices import AssetStatus
from connectors.affinity.imports import (
    ImportRefused,
    affinity_ceases_import,
    affinity_links_import,
)
from connectors.models import Binding
from tests.factories import SiteFactory

from .helpers import affinity_item, billed_customer, external_id, integration, transferred_asset

LINK_HEADER = "Application Name,Entity Id,Entity Type,Integration Id\n"


@pytest.fixture
def sites(affinity):
    integration(False)
    customer = billed_customer()
    second = SiteFactory(customer=customer, name="Depot")
    integration(True)
    return customer.sites.get(is_default=True), second


def _links(*rows: str) -> str:
    return LINK_HEADER + "".join(row + "\n" for row in rows)


def test_good_link_rows_bind_sites_and_customers(sites, affinity_client):
    head, depot = sites
    result = affinity_links_import(
        data=_links(
            f"Aurora Affinity,{head.pk},19,SIT00501",
            f"Aurora Affinity,{depot.pk},19,SIT00502",
            f"Aurora Affinity,{head.customer_id},1,ACC00501",
        )
    )
    assert result.ok and result.applied == 3
    assert external_id("site", "site", head) == "SIT00501"
    assert external_id("site", "site", depot) == "SIT00502"
    assert external_id("account", "customer", head.customer) == "ACC00501"


def test_a_file_with_bad_link_rows_applies_nothing_and_names_each_bad_line(sites):
    head, depot = sites
    Binding.objects.create(
        platform="affinity", role="site", entity="site", object_id=depot.pk, external_id="SIT9"
    )
    result = affinity_links_import(
        data=_links(
            f"Aurora Affinity,{head.pk},19,SIT00501",  # good
            f"Abillity,{head.pk},19,SIT00502",  # wrong application
            "Aurora Affinity,999999,19,SIT00503",  # no such site
            f"Aurora Affinity,{depot.pk},19,SIT00504",  # linked already: insert only
            f"Aurora Affinity,{head.pk},42,SIT00505",  # unknown entity type
            f"Aurora Affinity,{head.customer_id},1,SIT9",  # fine (another role)
            f"Aurora Affinity,{head.customer_id},1,ACC1",  # the customer twice
        )
    )
    lines = {error.line: error.message for error in result.errors}
    assert sorted(lines) == [3, 4, 5, 6, 8]
    assert "must be Aurora Affinity" in lines[3]
    assert "no site 999999" in lines[4]
    assert "linked already" in lines[5] and "insert only" in lines[5]
    assert 'Entity Type "42"' in lines[6]
    assert "on line 7 too" in lines[8]
    assert result.applied == 0
    assert external_id("site", "site", head) == ""


def test_apply_good_rows_applies_the_good_link_rows_only(sites):
    head, _depot = sites
    result = affinity_links_import(
        data=_links(f"Aurora Affinity,{head.pk},19,SIT00501", "Aurora Affinity,abc,19,SIT2"),
        apply_good_rows=True,
    )
    assert [e.line for e in result.errors] == [3]
    assert result.applied == 1
    assert external_id("site", "site", head) == "SIT00501"


def test_a_link_to_a_record_affinity_does_not_have_is_a_bad_row(sites, affinity_client):
    head, _depot = sites
    result = affinity_links_import(
        data=_links(f"Aurora Affinity,{head.pk},19,SIT00777"), client=affinity_client
    )
    assert [str(e) for e in result.errors] == ["Line 2: Affinity has no site SIT00777."]


def test_a_link_file_with_other_headers_is_refused_whole(sites):
    with pytest.raises(ImportRefused, match="exactly: Application Name, Entity Id"):
        affinity_links_import(data="Application Name,Entity Id,Type,Integration Id\n")


def test_the_links_command_fails_on_bad_rows_unless_asked(sites, tmp_path):
    head, _depot = sites
    path = tmp_path / "links.csv"
    path.write_text(_links(f"Aurora Affinity,{head.pk},19,SIT00501", "Aurora Affinity,1,2,3"))
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import_affinity_links", str(path), "--no-verify")
    assert external_id("site", "site", head) == ""
    call_command("import_affinity_links", str(path), "--no-verify", "--apply-good-rows")
    assert external_id("site", "site", head) == "SIT00501"


# --- cease requests ---------------------------------------------------------------------------
@pytest.fixture
def billed(affinity):
    customer = billed_customer()
    first = transferred_asset(customer, affinity_item(), cli="07700900111")
    second = transferred_asset(customer, affinity_item(), cli="07700900222")
    return first, second


def _ceases(*rows: str) -> str:
    return "Circuit,OBJECTUID,Completed On\n" + "".join(f"X,{row}\n" for row in rows)


def test_a_cease_row_sets_the_cease_date_and_ceases_a_past_date(billed, affinity):
    first, second = billed
    uid = external_id("site_product", "asset", first)
    ctn = external_id("ctn", "asset", second)
    result = affinity_ceases_import(
        data=_ceases(f"{uid},31/05/2024", f"{ctn},2030-01-31"), today=date(2024, 6, 10)
    )
    assert result.ok and result.applied == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.cease_date, first.status) == (date(2024, 5, 31), AssetStatus.CEASED)
    assert (second.cease_date, second.status) == (date(2030, 1, 31), AssetStatus.LIVE)
    from .helpers import drain, held

    drain()
    assert held(affinity, "site_products", "site_product", "asset", first)["end_date"] == (
        "2024-05-31"
    )


def test_a_cease_file_with_bad_rows_applies_nothing_and_names_each_bad_line(billed):
    first, _second = billed
    uid = external_id("site_product", "asset", first)
    result = affinity_ceases_import(
        data=_ceases(
            f"{uid},2024-05-31", "SPR99999,2024-05-31", f"{uid},2024-05-31", ",x", "A,32/13/2024"
        )
    )
    lines = {error.line: error.message for error in result.errors}
    assert sorted(lines) == [3, 4, 5, 6]
    assert "not the Affinity id of any asset" in lines[3]
    assert "on line 2 too" in lines[4]
    assert "OBJECTUID is empty" in lines[5]
    assert "is not a date" in lines[6]
    first.refresh_from_db()
    assert first.cease_date is None and first.status == AssetStatus.LIVE


def test_apply_good_rows_ceases_the_good_rows_only(billed):
    first, _second = billed
    uid = external_id("site_product", "asset", first)
    result = affinity_ceases_import(
        data=_ceases(f"{uid},2024-05-31", "SPR99999,2024-05-31"), apply_good_rows=True
    )
    assert result.applied == 1 and [e.line for e in result.errors] == [3]
    first.refresh_from_db()
    assert first.status == AssetStatus.CEASED


def test_a_cease_file_without_objectuid_is_refused_whole(billed):
    with pytest.raises(ImportRefused, match="must include OBJECTUID, Completed On"):
        affinity_ceases_import(data="UID,Completed On\nA,2024-01-01\n")


def test_the_ceases_command_fails_on_bad_rows_and_changes_nothing(billed, tmp_path):
    first, _second = billed
    uid = external_id("site_product", "asset", first)
    path = tmp_path / "ceases.csv"
    path.write_text(_ceases(f"{uid},2024-05-31", "nope,2024-05-31"))
    with pytest.raises(CommandError, match="nothing was applied"):
        call_command("import_affinity_ceases", str(path))
    first.refresh_from_db()
    assert first.status == AssetStatus.LIVE
