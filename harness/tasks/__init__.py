"""Tasks: how a clip is damaged, what a candidate sees, and the oracle. One module per task."""

from __future__ import annotations

from types import ModuleType

from harness.tasks import compressor, eq, mastering

TASKS: dict[str, ModuleType] = {m.NAME: m for m in (eq, compressor, mastering)}


def get_task(name: str) -> ModuleType:
    from harness.errors import UserError
    from harness.suites import did_you_mean

    try:
        return TASKS[name]
    except KeyError:
        raise UserError(f"unknown task {name!r}{did_you_mean(name, list(TASKS))}") from None
