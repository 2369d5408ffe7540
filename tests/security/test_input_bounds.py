"""Line ids from a request are checked before they reach the database: an id past a 64-bit
key or written in another script's digits is a 400 (found by Schemathesis: a huge id in
the Transfer to Billing body was a 500, "Python int too large to convert to SQLite
INTEGER")."""

import pytest
from django.core.exceptions import ValidationError

from billing.export import MAX_LINE_ID, line_ids_parse
from tests.api.conftest import user_with_perms

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "text", [str(MAX_LINE_ID + 1), "124875157680348203057152", "\u00b2", "\u0661"]
)
def test_a_line_id_that_cannot_be_a_database_id_is_refused(text):
    with pytest.raises(ValidationError):
        line_ids_parse(text)


def test_the_largest_database_id_is_still_a_line_id():
    assert line_ids_parse(f"1, {MAX_LINE_ID}") == [1, MAX_LINE_ID]


def test_a_transfer_naming_a_huge_line_id_is_a_400_not_a_500(api_client):
    api_client.force_authenticate(user_with_perms("billing.use_billing_apps"))

    response = api_client.post(
        "/api/v1/billing-export/transfer/",
        {"route": "affinity", "lines": [124875157680348203057152]},
        format="json",
    )

    assert response.status_code == 400
    assert "lines" in response.json()


@pytest.mark.parametrize("lines", ["124875157680348203057152", "\u00b2"])
def test_an_export_file_naming_a_bad_line_id_is_a_400_not_a_500(api_client, lines):
    api_client.force_authenticate(user_with_perms("billing.use_billing_apps"))

    response = api_client.get(f"/api/v1/billing-export/cli.csv?route=affinity&lines={lines}")

    assert response.status_code == 400
