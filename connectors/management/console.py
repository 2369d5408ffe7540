"""What the sync commands show on a terminal: plain tables (progress: layer_sync.console).

Tables are rendered to text first and written through the command's own
stdout, so ``call_command(..., stdout=...)`` captures them and no colour
codes reach a file or a pipe.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from connectors.choices import JobStatus


def status_label(status: str) -> str:
    """A job status as staff read it ("no change"); other outcomes as they are."""
    return JobStatus(status).label.lower() if status in JobStatus.values else status


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, title: str = ""
) -> str:
    """A table as plain text (numbers right-aligned), ready for ``stdout.write``."""
    table = Table(title=title or None, title_justify="left")
    rows = [[str(cell) for cell in row] for row in rows]
    for position, header in enumerate(headers):
        cells = [row[position] for row in rows if row[position] not in ("", "-")]
        numeric = bool(cells) and all(cell.isdigit() for cell in cells)
        table.add_column(header, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    Console(file=buffer, width=width, color_system=None, highlight=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
