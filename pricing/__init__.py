"""AWS pricing for DAWG Bench: a dated price catalogue as data, usage presets as data, and an
infracost-style cost model that multiplies them (docs/pricing.md).

Public API (what plan audits, capacity planning and ROI build on):

- `load_catalog(ref=None) -> Catalog`: a dated snapshot by date, by path, or the newest.
- `price(catalog, sku_id) -> PriceItem`: one price item; unknown ids get "did you mean".
- `load_preset(name_or_path) -> Preset`, `preset_registry()`: usage presets in pricing/presets/.
- `breakdown(catalog, preset) -> Breakdown`: line items (`LineItem`) and the total.
- `price_component(catalog, resource, usage) -> LineItem`: one component priced, for usage built in code.
- `cost(item, quantity, free_tier_12_month=False) -> TieredCost`: tiers and free allowances, exact.
- `HOURS_PER_MONTH`, `GB_PER_TB_DECIMAL`, `GB_PER_TB_BINARY`: the stated constants.

Live refresh (boto3) lives in `pricing.refresh` and is imported only by `dawg-bench cost refresh`.
"""

from pricing.catalogs import available_catalogs, load_catalog, parse_catalog, price
from pricing.model import Breakdown, LineItem, breakdown, price_component, usd_text
from pricing.presets import Preset, UsageComponent, UsageResource, load_preset, parse_preset, preset_registry
from pricing.schema import Catalog, PriceItem, Tier
from pricing.tiers import TieredCost, cost, tiered_usd
from pricing.units import GB_PER_TB_BINARY, GB_PER_TB_DECIMAL, HOURS_PER_MONTH

__all__ = [
    "GB_PER_TB_BINARY", "GB_PER_TB_DECIMAL", "HOURS_PER_MONTH", "Breakdown", "Catalog", "LineItem", "Preset",
    "PriceItem", "Tier", "TieredCost", "UsageComponent", "UsageResource", "available_catalogs", "breakdown",
    "cost", "load_catalog", "load_preset", "parse_catalog", "parse_preset", "preset_registry", "price",
    "price_component", "tiered_usd", "usd_text",
]
