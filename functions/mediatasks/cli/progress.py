"""A task's progress on stderr: a live bar (status, current step, percent) on a terminal, and plain
lines, one per change, anywhere else (CI logs, pipes), with no control codes."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn


class ProgressDisplay:
    def __init__(self, title: str, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._title = title
        self._last: tuple[str, str | None, int | None] | None = None
        self._bar: Progress | None = None
        self._row: TaskID | None = None

    def __enter__(self) -> ProgressDisplay:
        if self._console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]{task.fields[title]}[/] {task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=False,
            )
            self._bar.start()
            self._row = self._bar.add_task("waiting", total=100, title=self._title)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, status: str, step: str | None, percent: int | None) -> None:
        state = (status, step, percent)
        if state == self._last:
            return
        self._last = state
        where = f"{status} · {step}" if step else status
        if self._bar is not None and self._row is not None:
            self._bar.update(self._row, description=where, completed=percent or 0)
        else:
            shown = f" {percent}%" if percent is not None else ""
            print(f"{self._title}: {where}{shown}", file=self._console.file, flush=True)
