"""Properties of the CSV readers and writer: the call logger parser, the Affinity imports'
reader and the Billing Export's cell writer.

Arbitrary bytes never make a reader raise anything but its own clear error; a file
generated from valid rows reads back to the same values; any text written as an export
cell reads back (through csv.reader) as the neutralised text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.call_logger import (
    CALL_LOGGER_COLUMNS,
    FORMULA_START,
    UK,
    call_logger_parse,
)
from billing.export import FORMULA_STARTS, _as_text, _csv_cell
from connectors.affinity.imports import CEASE_HEADERS, LINK_HEADERS, ImportRefused, _rows

TODAY = date(2025, 6, 30)


# --- the call logger parser ----------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_the_call_logger_parser_never_raises_on_any_bytes(content):
    parsed = call_logger_parse(content, today=TODAY)

    assert parsed.errors or parsed.records or parsed.ignored_zero_lines
    assert all(str(error) for error in parsed.errors)


header_line = ",".join(CALL_LOGGER_COLUMNS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=8, max_size=9), st.sampled_from(["\r\n", "\n"]))
def test_the_call_logger_parser_never_raises_on_a_hostile_row(cells, newline):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(CALL_LOGGER_COLUMNS)
    writer.writerow(cells)
    writer.writerow(["TOTAL", "1", "1.00"])

    parsed = call_logger_parse(buffer.getvalue().encode(), today=TODAY)

    for record in parsed.records:
        assert not record.destination.startswith(FORMULA_START)


call_rows = st.lists(
    st.fixed_dictionaries(
        {
            "account_code": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,20}", fullmatch=True)
            .map(str.strip)
            .filter(bool),
            "day": st.dates(min_value=date(2020, 1, 1), max_value=TODAY),
            "at": st.times().map(lambda t: t.replace(microsecond=0)),
            "cli": st.from_regex(r"\+?[0-9]{2,15}", fullmatch=True),
            "dialled": st.from_regex(r"\+?[0-9]{2,15}", fullmatch=True),
            "destination": st.text(
                st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters='"'),
                max_size=40,
            )
            .map(str.strip)
            .filter(lambda d: not d.startswith(FORMULA_START)),
            "duration": st.integers(0, 9_999_999),
            "amount": st.decimals(
                min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2
            ),
        }
    ),
    min_size=1,
    max_size=20,
    unique_by=lambda r: (r["account_code"].casefold(), r["day"], r["at"], r["cli"]),
)


@settings(max_examples=100, deadline=None)
@given(call_rows, st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_a_generated_call_logger_file_reads_back_to_the_same_values(rows, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CALL_LOGGER_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["account_code"],
                row["day"].strftime("%d/%m/%Y"),
                row["at"].strftime("%H:%M:%S"),
                row["cli"],
                row["dialled"],
                row["destination"],
                str(row["duration"]),
                f"{row['amount']:.2f}",
            ]
        )
    total = sum((row["amount"] for row in rows), Decimal("0.00"))
    writer.writerow(["TOTAL", str(len(rows)), f"{total:.2f}"])

    parsed = call_logger_parse(buffer.getvalue().encode(encoding), today=TODAY)

    assert parsed.errors == []
    assert [
        (
            r.account_code,
            r.called_at,
            r.cli,
            r.dialled_number,
            r.destination,
            r.duration_seconds,
            r.amount,
        )
        for r in parsed.records
    ] == [
        (
            row["account_code"],
            datetime.combine(row["day"], row["at"], tzinfo=UK),
            row["cli"],
            row["dialled"],
            row["destination"],
            row["duration"],
            row["amount"],
        )
        for row in rows
    ]


# --- the Affinity imports' reader ---------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.binary(max_size=2000), st.text(max_size=2000)),
    st.sampled_from([LINK_HEADERS, CEASE_HEADERS]),
    st.booleans(),
)
def test_the_affinity_reader_raises_only_import_refused_on_any_input(data, headers, exact):
    try:
        rows = _rows(data, headers, exact=exact)
    except ImportRefused as refused:
        assert str(refused)
    else:
        assert all(set(row) >= set(headers) for _, row in rows)


affinity_cell = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
).map(str.strip)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(affinity_cell, affinity_cell, affinity_cell, affinity_cell), max_size=20),
    st.booleans(),
)
def test_a_generated_affinity_link_file_reads_back_to_the_same_rows(rows, as_bytes):
    rows = [row for row in rows if any(row)]  # blank rows are skipped by design
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LINK_HEADERS)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8-sig") if as_bytes else buffer.getvalue()

    read = _rows(data, LINK_HEADERS, exact=True)

    assert [tuple(row[h] for h in LINK_HEADERS) for _, row in read] == rows


# --- the Billing Export's cells -----------------------------------------------------------
@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text_becomes_a_cell_that_reads_back_neutralised(text):
    cell = _csv_cell(_as_text(text, "text"))

    (row,) = list(csv.reader(io.StringIO(cell + "\n", newline="")))
    read = row[0] if row else ""

    assert not read.startswith(FORMULA_STARTS)
    expected = "'" + text if text.startswith(FORMULA_STARTS) else text
    assert read == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=2, max_size=8))  # export rows have columns
def test_a_row_of_cells_reads_back_as_the_same_number_of_values(texts):
    line = ",".join(_csv_cell(_as_text(text, "text")) for text in texts) + "\n"

    (row,) = list(csv.reader(io.StringIO(line, newline="")))

    assert len(row) == len(texts)
    assert all(not value.startswith(FORMULA_STARTS) for value in row)
