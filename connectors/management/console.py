"""What the sync commands show on a terminal: plain tables (progress: layer_sync.console);
and how they read the file they are given (``command_file_read``).

Tables are rendered to text first and written through the command's own
stdout, so ``call_command(..., stdout=...)`` captures them and no colour
codes reach a file or a pipe. Every cell, header and title is plain text to
rich (a name such as ``Bad [/b] markup Ltd`` is not markup) and passes through
``layer_sync.console.printable`` (no escape sequence reaches the terminal).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.core.management.base import CommandError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connectors.choices import JobStatus
from layer_sync.console import printable


def command_file_read(name: str) -> bytes:
    """The bytes of the file a command was given; CommandError naming it when unreadable."""
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read {name}: {error.strerror}.") from None


def status_label(status: str) -> str:
    """A job status as staff read it ("no change"); other outcomes as they are."""
    return JobStatus(status).label.lower() if status in JobStatus.values else status


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, title: str = ""
) -> str:
    """A table as plain text (numbers right-aligned), ready for ``stdout.write``."""
    table = Table(title=Text(printable(title)) if title else None, title_justify="left")
    rows = [[printable(cell, keep_newlines=False) for cell in row] for row in rows]
    for position, header in enumerate(headers):
        cells = [row[position] for row in rows if row[position] not in ("", "-")]
        numeric = bool(cells) and all(cell.isdigit() for cell in cells)
        table.add_column(Text(printable(header)), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    buffer = io.StringIO()
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    Console(file=buffer, width=width, color_system=None, highlight=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
