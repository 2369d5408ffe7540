"""Properties of the CLI normaliser (billing.cli.cli_normalise), for any text."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from billing.cli import CLI_MAX_LENGTH, cli_normalise

# UK national numbers: 0, a digit 1-9, then 8 or 9 more digits.
uk_national = st.builds(
    lambda first, rest: f"0{first}{rest}",
    st.sampled_from("123456789"),
    st.text("0123456789", min_size=8, max_size=9),
)
cli_like = st.text(alphabet="0123456789 +-.()/", max_size=25)


def normalised_or_none(text: str) -> str | None:
    try:
        return cli_normalise(text)
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), cli_like))
@example("+44 07700 900123")
@example("07" + "\u0667" * 9)  # Arabic-Indic digits: str.isdigit() says yes
def test_any_text_is_normalised_or_refused_with_a_validation_error(text):
    result = normalised_or_none(text)  # anything else raised fails the test

    if result is not None:
        assert result.isascii() and result.isdigit()
        assert len(result) <= CLI_MAX_LENGTH
        assert result.startswith("0")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), cli_like, uk_national))
@example("00440044123456789")
def test_normalising_twice_changes_nothing(text):
    once = normalised_or_none(text)

    if once is not None:
        assert cli_normalise(once) == once


@settings(max_examples=200, deadline=None)
@given(uk_national, st.sampled_from(["0{}", "+44{}", "+44 {}", "44{}", "0044 {}", "+44 (0){}"]))
def test_a_uk_number_in_international_form_round_trips_to_its_national_form(number, form):
    digits = number[1:]
    spaced = f"{digits[:4]} {digits[4:]}"

    assert cli_normalise(number) == number
    assert cli_normalise(form.format(digits)) == number
    assert cli_normalise(form.format(spaced)) == number


@settings(max_examples=100, deadline=None)
@given(uk_national)
def test_the_trunk_zero_typed_after_plus_44_is_dropped(number):
    assert cli_normalise(f"+44 {number}") == number
    assert cli_normalise(f"0044{number}") == number


@pytest.mark.parametrize("text", ["", "   ", "abc", "+", "000123456", "0" * 18])
def test_junk_is_refused_with_a_message(text):
    with pytest.raises(ValidationError) as error:
        cli_normalise(text)

    assert error.value.messages
