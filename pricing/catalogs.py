"""Price catalogues on disk: one dated file per snapshot in `pricing/catalog/` (TOML as transcribed,
JSON as `cost refresh` writes it), loaded into a validated `Catalog`, and `price(catalog, sku)`.

A catalogue is chosen by date ("2026-12-01"), by path, or by default the newest snapshot, so a
breakdown can always say which prices it used. Every problem in a file is one line naming the file,
the item and the field, because a catalogue is edited by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.errors import UserError
from harness.registry import UnknownName, did_you_mean
from pricing.schema import Catalog, PriceItem

CATALOG_DIR = Path(__file__).with_name("catalog")
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def catalog_dir() -> Path:
    return CATALOG_DIR


def available_catalogs(folder: Path | None = None) -> dict[str, Path]:
    """Dated snapshots by date string, oldest first. A date with both a .toml and a .json uses the
    JSON (what `cost refresh` wrote later that day replaces the transcription)."""
    folder = folder or catalog_dir()
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")) + sorted(folder.glob("*.json")):
        if _DATED.match(path.stem):
            found[path.stem] = path
    return dict(sorted(found.items()))


def resolve_catalog(ref: str | Path | None = None) -> Path:
    """A date (YYYY-MM-DD), a file path, or None for the newest snapshot."""
    known = available_catalogs()
    if ref is None:
        if not known:
            raise UserError(f"{catalog_dir()}: no dated price catalogue (expected files like 2026-12-01.toml)")
        return known[list(known)[-1]]
    text = str(ref)
    looks_like_date = "/" not in text and Path(text).suffix not in (".toml", ".json")
    if looks_like_date and not Path(text).exists():
        if text not in known:
            raise UnknownName(f"no price catalogue dated {text!r}{did_you_mean(text, known)}")
        return known[text]
    path = Path(text)
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a catalogue file or a date ({', '.join(known)})")
    if not path.exists():
        raise UserError(f"{path}: price catalogue not found (dated snapshots: {', '.join(known) or 'none'})")
    return path


def load_catalog(ref: str | Path | None = None) -> Catalog:
    """Load and validate a catalogue (see `resolve_catalog` for `ref`)."""
    path = resolve_catalog(ref)
    return parse_catalog(_read(path), path)


def parse_catalog(raw: dict[str, Any], path: str | Path = "<catalogue>") -> Catalog:
    """Validate catalogue data (as read from TOML or JSON) into a `Catalog`; one-line UserError otherwise."""
    if not isinstance(raw.get("items"), dict) or not raw["items"]:
        raise UserError(f"{path}: no [items.\"<sku>\"] tables: a catalogue needs at least one price item")
    items = {sku: {**entry, "id": sku} if isinstance(entry, dict) else entry for sku, entry in raw["items"].items()}
    try:
        catalog = Catalog(**{**raw, "items": items, "path": str(path)})
    except ValidationError as exc:
        raise UserError(f"{path}: {_first_error(exc)}") from None
    for item in catalog.items.values():
        if item.public is not None and item.public not in catalog.items:
            raise UnknownName(f"{path}: items.{item.id}.public: unknown price item {item.public!r}"
                              f"{did_you_mean(item.public, catalog.items)}")
    return catalog


def price(catalog: Catalog, sku_id: str) -> PriceItem:
    """The price item `sku_id`; an unknown id is a one-line error with "did you mean"."""
    try:
        return catalog.items[sku_id]
    except KeyError:
        close = did_you_mean(sku_id, catalog.items).split(" (known:")[0]  # the full list is too long to print
        raise UnknownName(f"unknown price item {sku_id!r} in {catalog.path}{close}"
                          f" (list them: dawg-bench cost prices --catalog {catalog.snapshot.as_of})") from None


def catalog_to_json(catalog: Catalog) -> str:
    """The catalogue as JSON text: Decimals as strings (exact), dates ISO, ids as keys, no load-time fields."""
    data = catalog.model_dump(mode="json", exclude={"path"}, exclude_none=True)
    for entry in data["items"].values():
        entry.pop("id", None)
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def today() -> dt.date:
    return dt.date.today()


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a catalogue is a table of [snapshot] and [items]")
    return data


def _first_error(exc: ValidationError) -> str:
    """'items.ec2.x.usd: give a price ...' from pydantic's first error, without its boilerplate."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    if len(loc) >= 2 and loc[0] == "items":  # the sku id contains dots; keep it in quotes so the field is clear
        loc[1] = f'"{loc[1]}"'
    where = ".".join(str(x) for x in loc)
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = "missing (every item needs service, description, region, unit, a price, pricing_model, source, "\
              "source_kind and as_of)"
    return f"{where}: {msg}"
