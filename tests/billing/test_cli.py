"""The CLI normaliser: UK numbers in national format, digits only, at most 17."""

import pytest
from django.core.exceptions import ValidationError

from billing.cli import cli_is_valid, cli_normalise


@pytest.mark.parametrize(
    "typed",
    ["+44 7700 900123", "447700900123", "07700 900123", "0044 7700 900123", "+44 (0)7700-900123"],
)
def test_uk_numbers_are_normalised_to_national_format(typed):
    assert cli_normalise(typed) == "07700900123"


def test_a_ten_digit_uk_number_is_kept():
    assert cli_normalise("01134 96000") == "0113496000"


def test_another_countrys_number_is_kept_in_international_digits():
    assert cli_normalise("+33 1 23 45 67 89") == "0033123456789"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the CLI"),
        ("0770O900123", "digits only"),
        ("7700900123", "no leading 0"),
        ("0770090", "not a UK number"),
        ("077009001234", "not a UK number"),
        ("+0 1234", "not a valid international number"),
    ],
)
def test_an_invalid_cli_is_refused_with_what_to_do(typed, message):
    with pytest.raises(ValidationError, match=message):
        cli_normalise(typed)
    assert not cli_is_valid(typed)


def test_a_cli_longer_than_17_digits_is_refused():
    assert cli_normalise("+358 40 1234 5678 90") == "00358401234567890"
    with pytest.raises(ValidationError, match="at most 17"):
        cli_normalise("+358 40 1234 5678 901")
