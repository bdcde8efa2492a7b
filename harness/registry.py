"""One registry pattern for everything looked up by name: tasks, candidates, metrics, hardware
targets, suites and commands.

A `Registry[T]` is a read-only mapping from name to item with three promises: `get(name)` fails
with a one-line `UnknownName` error that suggests the closest name ("did you mean"), `describe()`
lists every entry with its description, and registering the same name twice is an error (two
modules claiming one name is a bug, not an override). It imports nothing from the project, so any
module can use it without creating an import cycle.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from harness.errors import UserError

T = TypeVar("T")


class UnknownName(UserError, KeyError):
    """A name that is not registered. A UserError (the CLI prints it as one line, exit 2) and a
    KeyError (lookups behave like a mapping's)."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'? (known: a, b, c)' — the suffix every unknown-name error carries."""
    known = sorted(choices)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (known: {', '.join(known)})"


class Registry(Mapping[str, T], Generic[T]):
    """Items of one kind by name. `kind` names them in errors ("unknown task 'x'")."""

    def __init__(self, kind: str, describe: Callable[[T], str] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._describe = describe or (lambda item: str(getattr(item, "description", "") or ""))

    def register(self, name: str, item: T) -> T:
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a temporary item clean up with this)."""
        self._items.pop(name, None)

    @contextlib.contextmanager
    def registered(self, name: str, item: T) -> Iterator[T]:
        """Register `item` for the duration of a `with` block (tests, plugins tried once)."""
        self.register(name, item)
        try:
            yield item
        finally:
            self.unregister(name)

    def get(self, name: str) -> T:  # type: ignore[override]  # a registry lookup never returns a default
        try:
            return self._items[name]
        except KeyError:
            raise UnknownName(f"unknown {self.kind} {name!r}{did_you_mean(name, self._items)}") from None

    def check(self, names: Iterable[str], where: str = "") -> None:
        """Raise UnknownName for the first name not registered; `where` prefixes the message."""
        for name in names:
            if name not in self._items:
                prefix = f"{where}: " if where else ""
                raise UnknownName(f"{prefix}unknown {self.kind} {name!r}{did_you_mean(name, self._items)}")

    def names(self) -> list[str]:
        return list(self._items)

    def describe(self) -> list[tuple[str, str]]:
        """(name, description) for every entry, in registration order."""
        return [(name, self._describe(item)) for name, item in self._items.items()]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._items)})"
