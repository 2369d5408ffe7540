"""What the sync commands show on a terminal: a progress bar and plain tables.

Tables are rendered to text first and written through the command's own
stdout, so ``call_command(..., stdout=...)`` captures them and no colour
codes reach a file or a pipe. The progress bar goes to stderr, and only when
stderr is a terminal: a log or ``--json`` output never holds one.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable, Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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


class ProgressBar:
    """A rich progress bar on stderr, one task per step (``connectors.prepare.Progress``).

    Use as a context manager; it shows nothing when stderr is not a terminal.
    """

    def __init__(self, *, show: bool = True, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = show and self.console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.enabled,
            transient=False,
        )
        self._task = None

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, label: str, total: int) -> None:
        self._task = self._progress.add_task(label, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)
