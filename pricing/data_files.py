"""Loading one pricing data file (a load profile, ROI inputs): by name from its folder or by path, one
TOML table validated by a pydantic model, and every problem one UserError naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import UserError

M = TypeVar("M", bound=BaseModel)


def load_table(name_or_path: str | Path, folder: Path, table: str, model: type[M], what: str) -> M:
    """`<folder>/<name>.toml` (or a .toml path), its `[table]` validated as `model` with name = the file stem."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = folder / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml") if not p.name.startswith("_")))
        raise UserError(f"{path}: no such {what} (known: {known})")
    try:
        raw = tomllib.loads(path.read_text())[table]
        return model(name=path.stem, **raw)
    except KeyError:
        raise UserError(f"{path}: needs a [{table}] table") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = str(first["msg"]).removeprefix("Value error, ")
        where = ".".join(str(x) for x in first["loc"])
        raise UserError(f"{path}: {where + ': ' if where else ''}{msg}") from None
