"""The cost model: resources × cost components × usage → line items, as infracost structures it.

`breakdown(catalog, preset)` prices every component of a usage preset against a price catalogue.
Each `LineItem` carries both halves of its provenance: the price's (catalogue source, source kind,
as-of date) and the quantity's (where in the plan, and whether it is an assumption, a projection or
a measurement). A component without a quantity is not $0: its cost is None and it prints as
"depends on usage: $X per unit", and the total says how many such components it leaves out.
Capacity, ROI and plan audits call `breakdown`, `price_component` or `pricing.tiers.cost` directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from harness.errors import UserError
from pricing.catalogs import price
from pricing.presets import ALWAYS_ON, Preset, UsageComponent
from pricing.schema import Catalog
from pricing.tiers import ZERO, cost
from pricing.units import DATA_UNITS, HOURS_PER_MONTH

CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineItem:
    resource: str
    component: str
    sku: str
    quantity: Decimal | None  # base units; None = the usage is not given
    unit: str
    usd_per_unit: Decimal  # one base unit at the first tier (exact)
    price_text: str  # as AWS quotes it: "$0.60 per 1M requests"
    cost_usd: Decimal | None  # None = depends on usage (never a silent $0)
    free_quantity: Decimal  # covered by a free allowance
    free_kind: str | None
    price_source: str
    price_source_kind: str  # official | secondary | assumed
    price_as_of: dt.date
    price_variant: str  # public | plan
    pricing_model: str
    quantity_source: str  # where the quantity comes from (or why there is none)
    quantity_basis: str  # assumption | projection | measurement
    quantity_text: str = ""  # how it was formed, e.g. "2 × 730 h (always on)"

    @property
    def depends_on_usage(self) -> bool:
        return self.cost_usd is None

    def cost_text(self) -> str:
        """'$767.96', or 'depends on usage: $0.09 per GB (first of 4 tiers)'."""
        if self.cost_usd is None:
            return f"depends on usage: {self.price_text}"
        return usd_text(self.cost_usd)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["depends_on_usage"] = self.depends_on_usage
        data["cost_text"] = self.cost_text()
        return _jsonable(data)


@dataclass(frozen=True)
class Breakdown:
    preset: str
    period: str  # month | one-time
    catalog_path: str
    catalog_as_of: dt.date
    lines: tuple[LineItem, ...]
    free_tier_12_month: bool = False
    constants: dict[str, str] = field(default_factory=lambda: {"hours_per_month": str(HOURS_PER_MONTH)})

    @property
    def total_usd(self) -> Decimal:
        """The sum of every priced line; `depends_on_usage` lists what it cannot include."""
        return sum((line.cost_usd for line in self.lines if line.cost_usd is not None), ZERO)

    @property
    def depends_on_usage(self) -> tuple[LineItem, ...]:
        return tuple(line for line in self.lines if line.depends_on_usage)

    def total_text(self) -> str:
        rest = len(self.depends_on_usage)
        more = f" + {rest} component{'s' if rest != 1 else ''} that depend{'s' if rest == 1 else ''} on usage" \
            if rest else ""
        per = " a month" if self.period == "month" else " one-time"
        return f"{usd_text(self.total_usd)}{per}{more}"

    def to_json(self) -> dict[str, Any]:
        return _jsonable({
            "preset": self.preset, "period": self.period, "catalog": self.catalog_path,
            "catalog_as_of": self.catalog_as_of, "free_tier_12_month": self.free_tier_12_month,
            "constants": self.constants, "lines": [line.to_json() for line in self.lines],
            "total_usd": self.total_usd, "total_text": self.total_text(),
            "depends_on_usage": [f"{line.resource}/{line.component}" for line in self.depends_on_usage],
            "basis": {"prices": "catalogue data (each line's source kind and as-of)",
                      "quantities": "each line's quantity_basis (presets hold assumptions read from the plan)"},
        })


def price_component(catalog: Catalog, resource: str, usage: UsageComponent, *,
                    free_tier_12_month: bool = False, where: str = "") -> LineItem:
    """One line item: the component's catalogue price × its quantity, free allowances applied."""
    prefix = f"{where}: " if where else ""
    try:
        item = price(catalog, usage.sku)
    except UserError as exc:
        raise type(exc)(f"{prefix}{exc}") from None
    if usage.quantity_tb is not None and item.unit not in DATA_UNITS:
        raise UserError(f"{prefix}quantity_tb given for {usage.sku}, whose unit is {item.unit!r}, not a data size")
    if usage.quantity == ALWAYS_ON and item.unit not in ("hours", "LCU-hours"):
        raise UserError(f"{prefix}quantity \"{ALWAYS_ON}\" needs an hourly item; {usage.sku} is priced in {item.unit}")
    quantity = usage.total_quantity()
    if quantity is None:
        charged, free_quantity, free_kind = None, ZERO, None
    else:
        priced = cost(item, quantity, free_tier_12_month=free_tier_12_month)
        charged, free_quantity, free_kind = priced.usd, priced.free_quantity, priced.free_kind
    return LineItem(
        resource=resource, component=usage.component, sku=item.id, quantity=quantity, unit=item.unit,
        usd_per_unit=item.usd_per_unit(), price_text=item.price_text(), cost_usd=charged,
        free_quantity=free_quantity, free_kind=free_kind, price_source=item.source,
        price_source_kind=item.source_kind, price_as_of=item.as_of, price_variant=item.variant,
        pricing_model=item.pricing_model, quantity_source=usage.source, quantity_basis=usage.basis,
        quantity_text=usage.quantity_text())


def breakdown(catalog: Catalog, preset: Preset) -> Breakdown:
    """Price every component of `preset` against `catalog`."""
    lines = []
    for r, resource in enumerate(preset.resources):
        for c, usage in enumerate(resource.components):
            where = f"{preset.path or preset.name}: resources.{r}.components.{c} ({resource.name}/{usage.component})"
            lines.append(price_component(catalog, resource.name, usage,
                                         free_tier_12_month=preset.free_tier_12_month, where=where))
    return Breakdown(preset=preset.name, period=preset.period, catalog_path=catalog.path,
                     catalog_as_of=catalog.snapshot.as_of, lines=tuple(lines),
                     free_tier_12_month=preset.free_tier_12_month)


def usd_text(usd: Decimal) -> str:
    """Dollars rounded half-up to the cent for display only ('$1,177.62'); sums stay exact."""
    return f"${usd.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def _jsonable(value: Any) -> Any:
    """Decimals as strings (exact), dates as ISO strings, recursively."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
