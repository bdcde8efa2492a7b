"""How long work reports progress: a callback `(done, total[, note])` that knows nothing of how it is shown
(`note`: a short status such as a training's loss and validation metric).

`reporting(console, label)` shows it: a live bar on a terminal, and plain periodic lines when the
output is not a terminal (CI logs), where a bar would print nothing until the end — at the start,
then at most every `every_s` seconds, and when the work completes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console

Progress = Callable[..., None]  # (done: int, total: int, note: str = "")


@contextlib.contextmanager
def reporting(console: Console, label: str, *, every_s: float = 10.0,
              clock: Callable[[], float] = time.monotonic) -> Iterator[Progress]:
    if console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        with Bar("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                 TimeElapsedColumn(), TimeRemainingColumn(), "{task.fields[note]}", console=console,
                 transient=True) as bar:
            task = bar.add_task(label, total=None, note="")
            yield lambda done, total, note="": bar.update(task, completed=done, total=total, note=note)
        return
    start = clock()
    last: list[float | None] = [None]

    def plain(done: int, total: int, note: str = "") -> None:
        now = clock()
        finished = total > 0 and done >= total
        if last[0] is not None and now - last[0] < every_s and not finished:
            return
        if finished and last[0] == -1.0:
            return  # completion already reported
        elapsed = now - start
        eta = f", about {elapsed / done * (total - done):.0f} s left" if 0 < done < total else ""
        share = f" ({done / total:.0%})" if total else ""
        # soft_wrap: one progress report is one line in a CI log, however narrow rich thinks the console is
        console.print(f"{label}: {done}/{total}{share} after {elapsed:.0f} s{eta}{'; ' + note if note else ''}",
                      highlight=False, soft_wrap=True)
        last[0] = -1.0 if finished else now

    yield plain
