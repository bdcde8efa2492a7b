"""Usage presets: how much of each priced thing a scenario uses, as data (`pricing/presets/*.toml`).

infracost separates prices (its pricing API) from usage (its usage file); so do we. A preset lists
resources, each with cost components; a component names a catalogue item (`sku`) and a quantity in
that item's base unit, and says where the quantity comes from (`source`: the line of the plan it was
read from) and what kind of figure it is (`basis`: assumption, projection or measurement). A
component without a quantity is priced "depends on usage: $X per unit" — never $0 — because a
missing number is unknown, not free. Capacity planning can build a `Preset` in code with
`basis="measurement"` or `"projection"` quantities and price it the same way.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import UserError
from harness.registry import Registry
from pricing.units import GB_PER_TB_BINARY, HOURS_PER_MONTH, GbPerTb

PRESET_DIR = Path(__file__).with_name("presets")
Basis = Literal["assumption", "projection", "measurement"]
# A whole month of a running resource: quantity = HOURS_PER_MONTH (730) hours per `count`.
ALWAYS_ON = "always-on"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UsageComponent(_Strict):
    component: str = Field(min_length=1)  # what is metered: "instance hours", "data out"
    sku: str = Field(min_length=1)  # a catalogue item id
    # In the item's base unit; "always-on" = 730 h; None = not known: priced as "depends on usage".
    quantity: Decimal | Literal["always-on"] | None = None
    quantity_tb: Decimal | None = None  # a data volume the plan gives in TB (needs gb_per_tb)
    gb_per_tb: GbPerTb | None = None
    count: int = Field(default=1, ge=1)  # identical resources (instances); multiplies the quantity
    basis: Basis = "assumption"
    source: str = Field(min_length=1)  # where the quantity comes from (or why there is none)

    @field_validator("quantity", "quantity_tb", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        """Quantities may be ints, Decimal strings or floats (a float quantity is converted via its
        shortest repr, so 0.5 stays 0.5); anything negative is an error, not a credit."""
        if v is None or v == ALWAYS_ON:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float | str | Decimal):
            raise ValueError(f"expected a number or \"{ALWAYS_ON}\", got {v!r}")
        try:
            number = Decimal(str(v))
        except InvalidOperation:
            raise ValueError(f"expected a number or \"{ALWAYS_ON}\", got {v!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected a finite number, got {v!r}")
        if number < 0:
            raise ValueError(f"negative quantity {v} (usage cannot be below zero)")
        return number

    @model_validator(mode="after")
    def _one_quantity(self) -> UsageComponent:
        if self.quantity is not None and self.quantity_tb is not None:
            raise ValueError("give quantity or quantity_tb, not both")
        if self.quantity_tb is not None and self.gb_per_tb is None:
            raise ValueError(f"quantity_tb needs gb_per_tb (1000 or {GB_PER_TB_BINARY}): say which TB is meant")
        return self

    def total_quantity(self) -> Decimal | None:
        """The quantity in base units for all `count` resources; None when the preset gives none."""
        if self.quantity == ALWAYS_ON:
            per_resource = HOURS_PER_MONTH
        elif self.quantity_tb is not None:
            per_resource = self.quantity_tb * self.gb_per_tb
        elif self.quantity is None:
            return None
        else:
            per_resource = self.quantity
        return per_resource * self.count

    def quantity_text(self) -> str:
        """How the quantity was formed: '2 × 730 h (always on)', '1 TB × 1000 GB/TB'."""
        count = f"{self.count} × " if self.count != 1 else ""
        if self.quantity == ALWAYS_ON:
            return f"{count}{HOURS_PER_MONTH} h (always on, {HOURS_PER_MONTH} h a month)"
        if self.quantity_tb is not None:
            return f"{count}{self.quantity_tb:f} TB × {self.gb_per_tb} GB/TB"
        return ""


class UsageResource(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    components: tuple[UsageComponent, ...] = Field(min_length=1)


class Preset(_Strict):
    name: str = ""  # the file's stem; filled in by the loader
    description: str = Field(min_length=1)
    plan_ref: str = ""  # the plan section the preset reproduces
    period: Literal["month", "one-time"] = "month"
    # 12-month free allowances apply only to an account in its first year (opened before 2025-07-15).
    free_tier_12_month: bool = False
    resources: tuple[UsageResource, ...] = Field(min_length=1)
    path: str = ""


def preset_dir() -> Path:
    return PRESET_DIR


def preset_registry(folder: Path | None = None) -> Registry[Path]:
    registry: Registry[Path] = Registry("preset", describe=lambda path: str(path))
    for path in sorted((folder or preset_dir()).glob("*.toml")):
        registry.register(path.stem, path)
    return registry


def load_preset(name_or_path: str | Path) -> Preset:
    """A preset by name (`pricing/presets/<name>.toml`) or by path; unknown names get "did you mean"."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text:
        path = Path(text)
        if not path.is_file():
            raise UserError(f"{path}: preset file not found (presets: {', '.join(preset_registry())})")
    else:
        path = preset_registry().get(text)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    return parse_preset(raw, path)


def parse_preset(raw: dict[str, Any], path: str | Path = "<preset>") -> Preset:
    try:
        return Preset(**{**raw, "name": Path(path).stem, "path": str(path)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise UserError(f"{path}: {where}: {msg}") from None
