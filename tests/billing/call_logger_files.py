"""Call logger files for the tests, in the format of docs/connect.md."""

from decimal import Decimal

HEADER = "Account Code,Call Date,Call Time,CLI,Dialled Number,Destination,Duration,Amount"


def call_row(
    code: str = "1001",
    *,
    day: str = "03/02/2025",
    at: str = "09:15:02",
    cli: str = "201",
    dialled: str = "07700900123",
    destination: str = "UK Mobile",
    duration: str = "125",
    amount: str = "0.42",
) -> str:
    return ",".join([code, day, at, cli, dialled, destination, duration, amount])


def _amount(row: str) -> Decimal:
    try:
        return Decimal(row.split(",")[-1])
    except ArithmeticError:  # a deliberately bad amount counts as nothing
        return Decimal("0.00")


def call_file(
    *rows: str,
    header: str | None = HEADER,
    footer: str | None = "auto",
    newline: str = "\r\n",
    encoding: str = "utf-8",
) -> bytes:
    """A file of ``rows`` (call_row strings or any line), with header and a matching footer."""
    lines = [header] if header is not None else []
    lines += list(rows)
    if footer == "auto":
        calls = [
            r for r in rows if r.strip(", ") and r != HEADER and not r.upper().startswith("TOTAL")
        ]
        total = sum((_amount(r) for r in calls), Decimal("0.00"))
        footer = f"TOTAL,{len(calls)},{total:.2f}"
    if footer is not None:
        lines.append(footer)
    return (newline.join(lines) + newline).encode(encoding)
