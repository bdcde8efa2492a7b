"""Tasks: how a clip is damaged, what a candidate sees, and the oracle. One module per task.

`TASKS` is the one registry of tasks; adding a task is one module defining `SPEC` (a `TaskSpec`)
plus one entry below.
"""

from __future__ import annotations

from harness.registry import Registry
from harness.tasks import compressor, eq, mastering
from harness.tasks.base import TaskSpec

TASKS: Registry[TaskSpec] = Registry("task")
for _module in (eq, compressor, mastering):
    TASKS.register(_module.SPEC.name, _module.SPEC)


def get_task(name: str) -> TaskSpec:
    """The task's spec; an unknown name raises UnknownName with a did-you-mean suggestion."""
    return TASKS.get(name)
