"""The call logger parser is strict and clear: every bad row with its line and what is wrong
(encodings and BOM, blank lines, header and footer, dates, amounts, negative and zero values,
duplicates)."""

import codecs
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.call_logger import call_logger_parse

from .call_logger_files import HEADER, call_file, call_row

TODAY = date(2025, 6, 30)


def parse(content: bytes, **options):
    return call_logger_parse(content, today=TODAY, **options)


def problems(content: bytes, **options) -> list[str]:
    return [str(error) for error in parse(content, **options).errors]


def test_a_good_file_gives_each_call_with_its_line_and_parsed_values():
    parsed = parse(call_file(call_row("1001"), call_row("ACC-7/B", amount="12.5")))

    assert parsed.errors == []
    first, second = parsed.records
    assert first.line == 2 and second.line == 3
    assert first.account_code == "1001"
    assert first.called_at == datetime(2025, 2, 3, 9, 15, 2, tzinfo=ZoneInfo("Europe/London"))
    assert (first.cli, first.dialled_number, first.destination) == (
        "201",
        "07700900123",
        "UK Mobile",
    )
    assert first.duration_seconds == 125
    assert (first.amount, second.amount) == (Decimal("0.42"), Decimal("12.50"))
    assert first.raw == (
        "1001",
        "03/02/2025",
        "09:15:02",
        "201",
        "07700900123",
        "UK Mobile",
        "125",
        "0.42",
    )


def test_a_utf8_bom_is_read_and_the_header_still_matches():
    parsed = parse(codecs.BOM_UTF8 + call_file(call_row(destination="Café £ line")))

    assert parsed.errors == []
    assert parsed.encoding == "utf-8-sig"
    assert parsed.records[0].destination == "Café £ line"


def test_utf16_with_a_bom_is_read():
    parsed = parse(call_file(call_row(destination="Zürich"), encoding="utf-16"))

    assert parsed.errors == []
    assert parsed.records[0].destination == "Zürich"


def test_windows_1252_from_excel_is_read():
    parsed = parse(call_file(call_row(destination="£ premium"), encoding="cp1252"))

    assert parsed.errors == []
    assert parsed.encoding == "cp1252"
    assert parsed.records[0].destination == "£ premium"


def test_bytes_that_are_no_known_encoding_are_refused():
    assert problems(call_file(call_row()) + b"\x81\x8d") == [
        "The file is not text in UTF-8, UTF-16 or Windows-1252 (byte 0x81 at offset "
        f"{len(call_file(call_row()))}): save it as CSV (UTF-8) and import it again."
    ]


def test_a_binary_file_is_refused():
    assert "NUL characters" in problems(b"PK\x03\x04\x00\x00binary")[0]


def test_an_empty_file_is_refused():
    assert problems(b"") == ["The file is empty."]
    assert problems(b"\r\n  \r\n") == ["The file is empty."]


def test_blank_lines_are_ignored_and_line_numbers_still_count_them():
    content = call_file("", call_row("1001"), "   ", ",,,,,,,", call_row("1002", amount="x"), "")

    parsed = parse(content)

    assert [r.line for r in parsed.records] == [3]
    assert [str(e) for e in parsed.errors] == [
        'Line 6: Amount "x" is not an amount in pounds (like 12.50, at most two decimal places, '
        "no thousands separators)."
    ]


def test_lf_and_cr_lf_line_ends_are_both_read():
    assert parse(call_file(call_row(), newline="\n")).errors == []
    assert parse(call_file(call_row(), newline="\r\n")).errors == []


def test_a_file_without_the_column_header_is_refused():
    assert problems(call_file(call_row(), header=None)) == [
        "Line 1: The first row must be the column header: "
        + HEADER
        + " (found: "
        + call_row()
        + ")."
    ]


def test_the_header_is_matched_without_regard_to_case_or_spaces():
    header = " account code , CALL DATE,Call  Time,cli,Dialled Number,Destination,Duration,Amount"
    assert parse(call_file(call_row(), header=header)).errors == []


def test_a_second_header_row_is_refused():
    assert problems(call_file(call_row(), HEADER, call_row("1002"))) == [
        "Line 3: A second column header (the first is on line 1)."
    ]


def test_a_file_without_its_footer_is_refused_as_cut_short():
    assert problems(call_file(call_row(), footer=None)) == [
        "The file has no footer row (TOTAL,<rows>,<total>): it may have been cut short. "
        "Export it from Connect again."
    ]


def test_a_footer_whose_row_count_disagrees_is_refused():
    assert problems(call_file(call_row(), footer="TOTAL,2,0.42")) == [
        "Line 3: The footer says 2 call rows; the file has 1. It may have been cut short or edited."
    ]


def test_a_footer_whose_total_disagrees_is_refused():
    assert problems(call_file(call_row(amount="1.00"), footer="TOTAL,1,1.01")) == [
        "Line 3: The footer's total is 1.01; the call rows add up to 1.00. The file may have "
        "been edited."
    ]


def test_rows_after_the_footer_are_refused():
    content = call_file(call_row(), footer="TOTAL,1,0.42") + call_row("1002").encode() + b"\r\n"
    assert problems(content) == [
        "Line 4: A row after the footer (line 3): the footer must be the last row."
    ]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2025-02-03", 'Call Date "2025-02-03" is not a date in the form DD/MM/YYYY.'),
        ("31/02/2025", 'Call Date "31/02/2025" is not a date in the form DD/MM/YYYY.'),
        ("3/2/2025", 'Call Date "3/2/2025" is not a date in the form DD/MM/YYYY.'),
        ("", 'Call Date "" is not a date in the form DD/MM/YYYY.'),
        ("01/07/2025", "Call Date 01/07/2025 is in the future."),
    ],
)
def test_bad_call_dates_are_reported_with_their_line(day, message):
    assert problems(call_file(call_row(), call_row("1002", day=day))) == [f"Line 3: {message}"]


def test_bad_call_times_are_reported():
    assert problems(call_file(call_row(at="25:00:00"))) == [
        'Line 2: Call Time "25:00:00" is not a time in the form HH:MM:SS (24-hour).'
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1,25", '"1"'),  # a decimal comma splits the row: a column count problem
        ("£1.25", 'Amount "£1.25": write the amount without a currency sign.'),
        ("1.255", 'Amount "1.255" is not an amount in pounds'),
        ("abc", 'Amount "abc" is not an amount in pounds'),
        ("", "Amount is empty."),
    ],
)
def test_bad_amounts_are_reported_with_their_line(amount, message):
    found = problems(call_file(call_row(amount=amount), footer="TOTAL,1,0.00"))
    assert found[0].startswith("Line 2: ")
    if amount == "1,25":
        assert found[0] == "Line 2: 9 columns where 8 are expected."
    else:
        assert message in found[0]


def test_a_negative_amount_is_refused_as_a_credit():
    assert problems(call_file(call_row(amount="-1.20"), footer="TOTAL,1,-1.20")) == [
        "Line 2: Amount -1.20 is negative: the call logger file holds charges, not credits."
    ]


def test_a_negative_duration_is_refused():
    assert problems(call_file(call_row(duration="-5"))) == ["Line 2: Duration -5 is negative."]


def test_a_zero_amount_is_refused_unless_zero_values_are_ignored():
    content = call_file(call_row("1001"), call_row("1002", amount="0.00"))

    assert problems(content) == [
        "Line 3: Amount is zero: remove the row, or import with “ignore zero values”."
    ]
    ignoring = parse(content, ignore_zero_values=True)
    assert ignoring.errors == []
    assert [r.line for r in ignoring.records] == [2]
    assert ignoring.ignored_zero_lines == [3]


def test_a_duplicate_row_is_refused_naming_the_first():
    content = call_file(call_row("1001"), call_row("1002"), call_row("1001"))

    assert problems(content) == ["Line 4: A duplicate of line 2 (the same call twice)."]


def test_the_same_number_called_twice_at_different_times_is_not_a_duplicate():
    assert parse(call_file(call_row(at="09:00:00"), call_row(at="09:30:00"))).errors == []


def test_every_bad_row_is_reported_not_only_the_first():
    content = call_file(
        call_row("1001"),
        call_row("", amount="1.00"),
        call_row("1003", day="99/99/2025", duration="x"),
        "1004,03/02/2025",
        footer="TOTAL,4,1.42",
    )

    assert problems(content) == [
        "Line 3: Account Code is empty.",
        'Line 4: Call Date "99/99/2025" is not a date in the form DD/MM/YYYY.',
        'Line 4: Duration "x" is not a whole number of seconds.',
        "Line 5: 2 columns where 8 are expected.",
    ]


def test_formula_like_cells_are_refused():
    found = problems(
        call_file(
            call_row("=HYPERLINK(1)"),
            call_row("1002", destination="=cmd|' /C calc'!A0"),
            call_row("1003", destination="@SUM(A1)"),
        )
    )

    assert found[0].startswith('Line 2: Account Code "=HYPERLINK(1)" is not a code')
    assert found[1].startswith('Line 3: Destination "=cmd|')
    assert "spreadsheet formula" in found[1]
    assert found[2].startswith('Line 4: Destination "@SUM(A1)"')


def test_numbers_must_be_digits():
    assert problems(call_file(call_row(cli="ext 201", dialled="0800 123"))) == [
        'Line 2: CLI "ext 201" is not a number (digits, optional +).',
        'Line 2: Dialled Number "0800 123" is not a number (digits, optional +).',
    ]


def test_broken_quoting_is_refused():
    content = HEADER + '\r\n1001,03/02/2025,09:15:02,201,07700900123,"UK Mobile,125,0.42\r\n'
    assert "The file is not valid CSV" in problems(content.encode())[0]


def test_quoted_cells_with_commas_are_read():
    row = '1001,03/02/2025,09:15:02,201,07700900123,"Mobile, UK",125,0.42'
    parsed = parse(call_file(row))

    assert parsed.errors == []
    assert parsed.records[0].destination == "Mobile, UK"
