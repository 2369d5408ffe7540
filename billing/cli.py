"""CLIs (CTNs, MSISDNs): one normaliser for every place a number is captured or sent.

The Layer keeps CLIs in UK national format (``01…``, ``02…``, ``07…``), digits only
(platforms/affinity.md; Abillity takes at most 17 characters). Input typed in
international form (``+44 7700 900123``, ``447700900123``, ``0044 7700 900123``,
``+44 (0)7700 900123``) or with spaces, dots, dashes and brackets is normalised
(``07700900123``). A number of another country is kept in international digits
(``0033…``: ``00`` and the country code), as long as it fits the 17 characters.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError

CLI_MAX_LENGTH = 17
# UK national numbers: a leading 0 and 9 or 10 more digits (01/02 numbers may have 10 in
# all, 07 mobiles and 03/08 numbers 11).
UK_NATIONAL = re.compile(r"0[1-9]\d{8,9}")
_SEPARATORS = re.compile(r"[\s.\-/()]")


def cli_normalise(text: str) -> str:
    """A CLI in UK national format (or ``00``-international for another country).

    Raises ValidationError saying what is wrong and how to write the number instead.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("Enter the CLI (the telephone number), e.g. 07700900123.")
    compact = raw.replace("(0)", "")
    compact = _SEPARATORS.sub("", compact)
    if compact.startswith("+"):
        compact = "00" + compact[1:]
    # ASCII digits only: str.isdigit() (and the patterns' \d) also take other scripts' digits.
    if not (compact.isascii() and compact.isdigit()):
        raise ValidationError(
            f'"{raw[:40]}" is not a CLI: use digits only (spaces and a leading + are '
            "allowed), e.g. 07700900123."
        )
    # The number itself is read by phonenumbers (Google's libphonenumber): the country
    # code, a UK number's own leading 0 typed after +44 ("+44 (0)7700..."), and whether a
    # foreign number is a possible one. Its validity check is not used: it refuses Ofcom's
    # ranges reserved for drama and tests (07700 900xxx), which are well-formed CLIs.
    if compact.startswith("00"):
        international = "+" + compact[2:]
    elif compact.startswith("44") and len(compact) in (11, 12):
        international = "+" + compact
    elif compact.startswith("0"):
        international = ""
    else:
        raise ValidationError(
            f'"{raw[:40]}" has no leading 0: write UK numbers in national format '
            "(07700900123) or with +44."
        )
    try:
        number = phonenumbers.parse(international or compact, None if international else "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and number.country_code == 44:
        compact = "0" + str(number.national_number)
        if not UK_NATIONAL.fullmatch(compact):
            raise ValidationError(
                f'"{raw[:40]}" is not a UK number: a UK CLI is 0 followed by 9 or 10 digits '
                f"({len(compact)} digits given)."
            )
    else:
        if number is not None and not compact.startswith("000"):
            lead = number.italian_leading_zero and "0" * (number.number_of_leading_zeros or 1)
            compact = f"00{number.country_code}{lead or ''}{number.national_number}"
        too_long = len(compact) > CLI_MAX_LENGTH
        if (
            number is None
            or compact.startswith("000")
            or (not too_long and not phonenumbers.is_possible_number(number))
        ):
            raise ValidationError(
                f'"{raw[:40]}" is not a valid international number: after 00 (or +) give '
                "the country code and the number."
            )
    if len(compact) > CLI_MAX_LENGTH:
        raise ValidationError(
            f'"{raw[:40]}" is {len(compact)} digits long; a CLI has at most {CLI_MAX_LENGTH}.'
        )
    return compact


def cli_is_valid(text: str) -> bool:
    """Whether ``text`` normalises to a CLI."""
    try:
        cli_normalise(text)
    except ValidationError:
        return False
    return True
