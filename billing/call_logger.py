"""The parser of essensys Connect's call logger file ("essensys call logger" imports).

Pure: bytes in, records and errors out; no database. The format is the
project's (Connect's own is not public) and is documented in docs/connect.md:

- text in UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252;
- comma-separated, cells quoted with ``"`` where needed; blank lines anywhere
  are ignored (line numbers still count them);
- the first row that is not blank is the column header, exactly
  ``CALL_LOGGER_COLUMNS`` (case and surrounding spaces aside);
- one row per call; the last row that is not blank is the footer
  ``TOTAL,<number of call rows>,<sum of the amounts>``, which is checked;
- dates ``DD/MM/YYYY``, times ``HH:MM:SS`` (UK local time), durations in whole
  seconds, amounts in pounds with at most two decimal places, no currency sign.

The parser is strict: every problem is reported with its line number and
column, and a file with any problem is refused whole by the importer.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

CALL_LOGGER_COLUMNS = (
    "Account Code",
    "Call Date",
    "Call Time",
    "CLI",
    "Dialled Number",
    "Destination",
    "Duration",
    "Amount",
)
FOOTER_LABEL = "TOTAL"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_CALL_ROWS = 100_000
# Beyond this many problems the rest are summarised in one line.
MAX_ERRORS_REPORTED = 1000
# How often (in lines read) a long parse reports its progress.
PROGRESS_EVERY = 5_000
UK = ZoneInfo("Europe/London")

ACCOUNT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,49}")
DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})")
NUMBER = re.compile(r"\+?[0-9]{2,25}")
DURATION = re.compile(r"[0-9]{1,7}")
AMOUNT = re.compile(r"-?[0-9]{1,9}(\.[0-9]{1,2})?")
# Cells that a spreadsheet would run as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DESTINATION_MAX = 100


@dataclass(frozen=True)
class LineError:
    """One problem of a file: its line (None for the file as a whole) and what is wrong."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class CallRecord:
    """One call row, parsed."""

    line: int
    raw: tuple[str, ...]
    account_code: str
    called_at: datetime
    cli: str
    dialled_number: str
    destination: str
    duration_seconds: int
    amount: Decimal


@dataclass
class ParsedFile:
    """What a file holds: its calls, the problems found, the zero rows skipped."""

    records: list[CallRecord] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    ignored_zero_lines: list[int] = field(default_factory=list)
    encoding: str = ""

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.records), Decimal("0.00"))


class _TooManyErrors(Exception):
    pass


class _Errors:
    def __init__(self) -> None:
        self.items: list[LineError] = []
        self.dropped = 0

    def add(self, line: int | None, message: str) -> None:
        if len(self.items) >= MAX_ERRORS_REPORTED:
            self.dropped += 1
            return
        self.items.append(LineError(line, message))

    def result(self) -> list[LineError]:
        if self.dropped:
            return [*self.items, LineError(None, f"… and {self.dropped} more problems.")]
        return self.items


def call_logger_decode(content: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in; ValueError saying why it is not text."""
    if not content.strip():
        raise ValueError("The file is empty.")
    if len(content) > MAX_FILE_BYTES:
        raise ValueError(
            f"The file is {len(content):,} bytes; at most {MAX_FILE_BYTES:,} are taken. "
            "Split it into smaller files."
        )
    if content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252"]
    problem = ""
    for encoding in candidates:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError as error:
            problem = f"byte 0x{content[error.start]:02x} at offset {error.start}"
            continue
        if "\x00" in text:
            raise ValueError("The file holds NUL characters: it is not a text (CSV) file.")
        return text, encoding
    raise ValueError(
        f"The file is not text in UTF-8, UTF-16 or Windows-1252 ({problem}): save it as CSV "
        "(UTF-8) and import it again."
    )


def _is_blank(cells: list[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _normal(cell: str) -> str:
    return " ".join(cell.split()).casefold()


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each CSV row; csv.Error for broken quoting."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _parse_amount(text: str, errors: _Errors, line: int, column: str) -> Decimal | None:
    if not AMOUNT.fullmatch(text):
        if not text:
            errors.add(line, f"{column} is empty.")
        elif text[0] in "£$€":
            errors.add(line, f'{column} "{text}": write the amount without a currency sign.')
        else:
            errors.add(
                line,
                f'{column} "{text}" is not an amount in pounds (like 12.50, at most two '
                "decimal places, no thousands separators).",
            )
        return None
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        errors.add(line, f'{column} "{text}" is not a number.')
        return None


def _parse_date(text: str, errors: _Errors, line: int, today: date) -> date | None:
    match = DATE.fullmatch(text)
    value = None
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            value = date(year, month, day)
        except ValueError:
            value = None
    if value is None:
        errors.add(line, f'Call Date "{text}" is not a date in the form DD/MM/YYYY.')
        return None
    if value > today:
        errors.add(line, f"Call Date {text} is in the future.")
        return None
    return value


def _parse_time(text: str, errors: _Errors, line: int) -> time | None:
    match = TIME.fullmatch(text)
    if match:
        hour, minute, second = (int(part) for part in match.groups())
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    errors.add(line, f'Call Time "{text}" is not a time in the form HH:MM:SS (24-hour).')
    return None


def _parse_call(
    line: int,
    cells: list[str],
    errors: _Errors,
    *,
    today: date,
) -> CallRecord | None:
    """One call row, or None with its problems added to ``errors``."""
    before = len(errors.items) + errors.dropped
    values = [cell.strip() for cell in cells]
    code, call_date, call_time, cli, dialled, destination, duration, amount = values
    if not code:
        errors.add(line, "Account Code is empty.")
    elif not ACCOUNT_CODE.fullmatch(code):
        errors.add(
            line,
            f'Account Code "{code[:60]}" is not a code (letters, digits, spaces and . _ / -, '
            "starting with a letter or digit, at most 50).",
        )
    day = _parse_date(call_date, errors, line, today)
    moment = _parse_time(call_time, errors, line)
    for column, number in (("CLI", cli), ("Dialled Number", dialled)):
        if not number:
            errors.add(line, f"{column} is empty.")
        elif not NUMBER.fullmatch(number):
            errors.add(line, f'{column} "{number[:40]}" is not a number (digits, optional +).')
    if destination.startswith(FORMULA_START) or cells[5].startswith(FORMULA_START):
        errors.add(
            line,
            f'Destination "{destination[:40]}" begins with {destination[:1] or "a tab"!r}, '
            "as a spreadsheet formula does: refused.",
        )
    elif len(destination) > DESTINATION_MAX:
        errors.add(line, f"Destination is longer than {DESTINATION_MAX} characters.")
    elif any(ord(ch) < 32 for ch in destination):
        errors.add(line, "Destination holds control characters.")
    seconds = None
    if duration.startswith("-") and DURATION.fullmatch(duration[1:]):
        errors.add(line, f"Duration {duration} is negative.")
    elif not DURATION.fullmatch(duration):
        errors.add(line, f'Duration "{duration}" is not a whole number of seconds.')
    else:
        seconds = int(duration)
    value = _parse_amount(amount, errors, line, "Amount")
    if value is not None and value < 0:
        errors.add(
            line,
            f"Amount {amount} is negative: the call logger file holds charges, not credits.",
        )
    if len(errors.items) + errors.dropped > before:
        return None
    assert day is not None and moment is not None and seconds is not None and value is not None
    return CallRecord(
        line=line,
        raw=tuple(cells),
        account_code=code,
        called_at=datetime.combine(day, moment, tzinfo=UK),
        cli=cli,
        dialled_number=dialled,
        destination=destination,
        duration_seconds=seconds,
        amount=value,
    )


def call_logger_parse(
    content: bytes,
    *,
    ignore_zero_values: bool = False,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ParsedFile:
    """Read a call logger file: its call records, and every problem with its line number.

    A row with a zero amount is a problem unless ``ignore_zero_values``, when it
    is skipped (its line is listed in ``ignored_zero_lines``). ``today`` bounds
    the call dates (none may be later); it defaults to the UK date now.
    ``progress(lines read, lines in the file)`` is called every ``PROGRESS_EVERY``
    lines, for a page that shows how far a long file has got.
    """
    today = today or datetime.now(UK).date()
    result = ParsedFile()
    errors = _Errors()
    try:
        text, result.encoding = call_logger_decode(content)
    except ValueError as error:
        result.errors = [LineError(None, str(error))]
        return result

    header_line: int | None = None
    footer: tuple[int, list[str]] | None = None
    call_lines = 0
    seen: dict[tuple[str, ...], int] = {}
    expected_header = [_normal(c) for c in CALL_LOGGER_COLUMNS]
    width = len(CALL_LOGGER_COLUMNS)
    total_lines = text.count("\n") + (not text.endswith("\n"))
    next_report = PROGRESS_EVERY
    try:
        for line, cells in _rows(text):
            if progress is not None and line >= next_report:
                progress(line, total_lines)
                next_report = line + PROGRESS_EVERY
            if _is_blank(cells):
                continue
            if header_line is None:
                if [_normal(c) for c in cells] != expected_header:
                    errors.add(
                        line,
                        "The first row must be the column header: "
                        f"{','.join(CALL_LOGGER_COLUMNS)} (found: {','.join(cells)[:200]}).",
                    )
                    break
                header_line = line
                continue
            if footer is not None:
                errors.add(
                    line,
                    f"A row after the footer (line {footer[0]}): the footer must be the last row.",
                )
                continue
            if cells and cells[0].strip().upper() == FOOTER_LABEL:
                footer = (line, cells)
                continue
            # The first cell first: this runs for every row of files of 100,000 rows.
            if (
                _normal(cells[0]) == expected_header[0]
                and [_normal(c) for c in cells] == expected_header
            ):
                errors.add(line, f"A second column header (the first is on line {header_line}).")
                continue
            call_lines += 1
            if call_lines > MAX_CALL_ROWS:
                errors.add(line, f"More than {MAX_CALL_ROWS:,} call rows: split the file.")
                break
            if len(cells) != width and not (len(cells) > width and _is_blank(cells[width:])):
                errors.add(line, f"{len(cells)} columns where {width} are expected.")
                continue
            record = _parse_call(line, cells[:width], errors, today=today)
            if record is None:
                continue
            key = (
                record.account_code.casefold(),
                record.called_at.isoformat(),
                record.cli,
                record.dialled_number,
                record.destination.casefold(),
                str(record.duration_seconds),
                str(record.amount),
            )
            if key in seen:
                errors.add(line, f"A duplicate of line {seen[key]} (the same call twice).")
                continue
            seen[key] = line
            if record.amount == 0:
                if ignore_zero_values:
                    result.ignored_zero_lines.append(line)
                    continue
                errors.add(
                    line,
                    "Amount is zero: remove the row, or import with “ignore zero values”.",
                )
                continue
            result.records.append(record)
    except csv.Error as error:
        errors.add(None, f"The file is not valid CSV ({error}).")

    if header_line is None and not errors.items:
        errors.add(None, "The file has no column header and no rows.")
    elif header_line is not None:
        _check_footer(footer, call_lines, result, errors)
    result.errors = errors.result()
    return result


def _check_footer(
    footer: tuple[int, list[str]] | None, call_lines: int, result: ParsedFile, errors: _Errors
) -> None:
    """The footer must be there and agree with the rows: a file cut short is refused."""
    if footer is None:
        errors.add(
            None,
            f"The file has no footer row ({FOOTER_LABEL},<rows>,<total>): it may have been "
            "cut short. Export it from Connect again.",
        )
        return
    line, cells = footer
    values = [cell.strip() for cell in cells]
    if len(values) < 3 or not _is_blank(values[3:]):
        errors.add(line, f"The footer must be {FOOTER_LABEL},<number of call rows>,<total amount>.")
        return
    count_text, total_text = values[1], values[2]
    if not DURATION.fullmatch(count_text):
        errors.add(line, f'The footer\'s row count "{count_text}" is not a whole number.')
    elif int(count_text) != call_lines:
        errors.add(
            line,
            f"The footer says {count_text} call rows; the file has {call_lines}. It may have "
            "been cut short or edited.",
        )
    total = _parse_amount(total_text, errors, line, "The footer's total")
    clean = not errors.items
    if total is not None and clean:
        whole = result.total  # zero rows skipped add nothing
        if total != whole:
            errors.add(
                line,
                f"The footer's total is {total}; the call rows add up to {whole}. The file may "
                "have been edited.",
            )


def call_logger_sample(account_codes: list[str], *, today: date, unknown_code: str = "") -> bytes:
    """A small call logger file in the format above, to try an import with: three calls
    for each of ``account_codes`` (and two for ``unknown_code``, which no customer holds,
    to show unmatched rows), in the week before ``today``, with its footer."""
    destinations = [
        ("07700900123", "UK Mobile", 125, "0.42"),
        ("01134960000", "UK Geographic", 612, "0.61"),
        ("+35312345678", "Ireland", 300, "1.85"),
    ]
    lines = [",".join(CALL_LOGGER_COLUMNS)]
    total = Decimal("0.00")
    calls = 0
    codes = [*account_codes, *([unknown_code] if unknown_code else [])]
    for index, code in enumerate(codes):
        picked = destinations if code != unknown_code else destinations[:2]
        for number, (dialled, where, seconds, amount) in enumerate(picked):
            day = today - timedelta(days=1 + (index + number) % 7)
            at = f"{9 + number:02d}:{(7 * index) % 60:02d}:{(13 * number) % 60:02d}"
            cli = f"{201 + index}"
            lines.append(f"{code},{day:%d/%m/%Y},{at},{cli},{dialled},{where},{seconds},{amount}")
            total += Decimal(amount)
            calls += 1
    lines.append(f"{FOOTER_LABEL},{calls},{total:.2f}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
