"""What management commands show on a terminal: text made safe to print, and a rich
progress bar on stderr.

Shared by every app's commands (``connectors.management.console`` builds its tables on
``printable``).

**Safe text.** Names come from staff, imported files and the platforms' answers; one
holding an escape sequence (``\x1b[2J`` clears the screen, others retitle the window or
rewrite what was printed) or a carriage return would act on the operator's terminal when
printed. ``printable`` shows every control character as an escape (``\x1b``) and every
bidirectional-override character as ``\u202e`` (which would reorder the line), keeping
line breaks. A command that prints names mixes in ``TerminalSafeOutput``: everything it
writes to stdout and stderr goes through ``printable``. Commands whose stdout is data
(the Billing Export's CSV, ``--json``) keep their output as it is: JSON escapes control
characters itself, and a CSV file is data, not terminal text.

**Progress.** The bar goes to stderr, and only when stderr is a terminal: a log, a pipe
or a command's ``--json`` output never holds one, and a command whose stdout is a file
(the Billing Export) keeps it clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from django.core.management.base import OutputWrapper
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# C0 controls but line feed, DEL and the C1 controls; the bidirectional formatting
# characters (embeddings, overrides, isolates and the marks), which reorder a line.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: object, *, keep_newlines: bool = True) -> str:
    """``str(value)`` safe to print on a terminal: each control and bidirectional-override
    character shown as its escape (``\\x1b``), line feeds kept (or escaped too when
    ``keep_newlines`` is False, for a table cell or a one-line field)."""
    text = str(value)
    escaped = _UNPRINTABLE.sub(_escaped, text)
    if not keep_newlines:
        escaped = escaped.replace("\n", "\\x0a")
    return escaped


class _PrintableOutput(OutputWrapper):
    """A command's stdout or stderr that prints every message through ``printable``."""

    def write(self, msg: str = "", style_func: Any = None, ending: str | None = None) -> None:
        super().write(printable(msg), style_func, ending)


class TerminalSafeOutput:
    """Mix into a ``BaseCommand`` whose output shows names: everything it writes to
    ``self.stdout`` and ``self.stderr`` is passed through ``printable``, whichever stream
    it was given (``call_command(..., stdout=...)`` included)."""

    @property
    def stdout(self) -> OutputWrapper:
        return self._safe_stdout

    @stdout.setter
    def stdout(self, wrapper: OutputWrapper) -> None:
        self._safe_stdout = _safe(wrapper)

    @property
    def stderr(self) -> OutputWrapper:
        return self._safe_stderr

    @stderr.setter
    def stderr(self, wrapper: OutputWrapper) -> None:
        self._safe_stderr = _safe(wrapper)


def _safe(wrapper: OutputWrapper) -> OutputWrapper:
    if isinstance(wrapper, _PrintableOutput):
        return wrapper
    safe = _PrintableOutput(wrapper._out, ending=wrapper.ending)
    safe.style_func = wrapper.style_func
    return safe


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
