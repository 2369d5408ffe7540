"""Progress on a terminal for long management commands: a rich progress bar on stderr.

Shared by every app's commands (``connectors.management.console`` re-exports it beside its
tables). The bar goes to stderr, and only when stderr is a terminal: a log, a pipe or a
command's ``--json`` output never holds one, and a command whose stdout is a file (the
Billing Export) keeps it clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


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

    def start(self, label: str, total: int | None) -> None:
        """A new step; ``total=None`` when its size is not known (the bar pulses)."""
        self._task = self._progress.add_task(label, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        """Show the current step as complete (a step of unknown size too)."""
        if self._task is not None:
            task = self._progress.tasks[-1]
            done = int(task.completed) if task.total is None else int(task.total)
            self._progress.update(self._task, total=max(done, 1), completed=max(done, 1))


@contextmanager
def progress_step(
    label: str, *, show: bool = True, total: int | None = None, console: Console | None = None
) -> Iterator[ProgressBar]:
    """One step of long work on a progress bar on stderr (nothing when stderr is not a
    terminal, or with ``show=False``: a command's ``--json``). A step whose service reports
    no progress pulses with its elapsed time, and is shown complete when it ends."""
    bar = ProgressBar(show=show, console=console)
    with bar:
        bar.start(label, total)
        yield bar
        bar.finish()
