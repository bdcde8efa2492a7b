"""What a price catalogue may say, as typed pydantic models. Data only; loading is `pricing.catalogs`.

One `PriceItem` per price AWS charges (or the plan quotes): a flat price or tiers, free allowances
(always-free and 12-month kept in separate fields, because only one of them expires), the pricing
model and commitment, and where the number comes from (source, source kind, as-of date). Money is
`decimal.Decimal`, parsed from strings: a TOML or JSON float would already have lost the exact price
before anything could check it, so a float price is refused.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pricing.units import DATA_UNITS, SINGULAR, UNITS, GbPerTb, format_per

SourceKind = Literal["official", "secondary", "assumed"]
PricingModel = Literal["on-demand", "savings-plan", "reserved", "spot", "flat-rate"]
Commitment = Literal["none", "1yr-no-upfront", "1yr-partial-upfront", "1yr-all-upfront",
                     "3yr-no-upfront", "3yr-partial-upfront", "3yr-all-upfront"]
# "public": AWS's price (as transcribed or fetched). "plan": the figure dawg-ml-plan.md uses, kept
# beside the public one where they differ, so an audit can compare them instead of one hiding the other.
Variant = Literal["public", "plan"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _money(value: Any) -> Any:
    """Prices are Decimal strings ("0.023"); ints are exact too. Floats are refused (see module doc)."""
    if isinstance(value, float):
        raise ValueError(f"write the price as a string (\"{value!r}\"), not a float: floats are not exact money")
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty price")
    return value


class Tier(_Strict):
    """One step of a tiered price: `usd` per `per` base units, for usage up to `up_to` (cumulative,
    in base units; None = no upper bound). Boundaries are cumulative like the Price List API's
    endRange, so "first 50 TB, next 450 TB" is up_to 51200 then 512000."""

    up_to: Decimal | None = None
    usd: Decimal = Field(ge=0)

    @field_validator("usd", "up_to", mode="before")
    @classmethod
    def _exact(cls, v: Any) -> Any:
        return _money(v)


class FreeAllowance(_Strict):
    """Usage AWS does not charge for, per month, in the item's base unit."""

    quantity: Decimal = Field(gt=0)
    note: str = ""

    @field_validator("quantity", mode="before")
    @classmethod
    def _exact(cls, v: Any) -> Any:
        return _money(v)


class RefreshSpec(_Strict):
    """How `dawg-bench cost refresh` finds this item's live price.

    `pricing.get_products`: the Price List API with TERM_MATCH filters that pin exactly one product.
    `ec2.describe_spot_price_history`: the current Linux spot price of `instance_type`.
    """

    api: Literal["pricing.get_products", "ec2.describe_spot_price_history"]
    service_code: str | None = None
    filters: dict[str, str] = Field(default_factory=dict)
    instance_type: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> RefreshSpec:
        if self.api == "pricing.get_products" and not (self.service_code and self.filters):
            raise ValueError("pricing.get_products needs service_code and filters")
        if self.api == "ec2.describe_spot_price_history" and not self.instance_type:
            raise ValueError("ec2.describe_spot_price_history needs instance_type")
        return self


class PriceItem(_Strict):
    id: str = ""  # the catalogue key; filled in by the loader
    service: str = Field(min_length=1)  # AWS service code, e.g. AmazonEC2
    description: str = Field(min_length=1)
    region: str = Field(min_length=1)
    unit: str  # a base unit from pricing.units.UNITS
    per: Decimal = Field(default=Decimal(1), gt=0)  # the price is quoted per this many base units
    usd: Decimal | None = Field(default=None, ge=0)  # a flat price; or give tiers
    tiers: tuple[Tier, ...] = ()
    gb_per_tb: GbPerTb | None = None  # how TB figures behind tiers or allowances were converted
    free_always: FreeAllowance | None = None
    free_12_month: FreeAllowance | None = None
    pricing_model: PricingModel
    commitment: Commitment = "none"
    source: str = Field(min_length=1)  # a URL, or the API and its version/publication date
    source_kind: SourceKind
    as_of: dt.date
    variant: Variant = "public"
    public: str | None = None  # for a plan variant: the id of the public item it stands beside
    plan_ref: str | None = None  # for a plan variant: where in the plan the figure is
    note: str = ""
    refresh: RefreshSpec | None = None

    @field_validator("usd", "per", mode="before")
    @classmethod
    def _exact(cls, v: Any) -> Any:
        return _money(v)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, v: str) -> str:
        if v not in UNITS:
            raise ValueError(f"unknown unit {v!r} (known: {', '.join(UNITS)})")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PriceItem:
        if (self.usd is None) == (not self.tiers):
            raise ValueError("give a price: either usd (flat) or tiers, not both and not neither")
        if self.tiers:
            bounds = [t.up_to for t in self.tiers]
            if bounds[-1] is not None:
                raise ValueError("the last tier must have no up_to (usage above every boundary is still charged)")
            finite = bounds[:-1]
            if any(b is None for b in finite) or any(b <= a for a, b in zip([Decimal(0), *finite], finite)):
                raise ValueError("tier up_to boundaries must increase (cumulative, in base units)")
            if self.unit in DATA_UNITS and self.gb_per_tb is None:
                raise ValueError("tiers on a data unit need gb_per_tb (1000 or 1024): say how TB became GB")
        if self.pricing_model in ("savings-plan", "reserved") and self.commitment == "none":
            raise ValueError(f"pricing_model {self.pricing_model!r} needs a commitment (e.g. 1yr-no-upfront)")
        if self.pricing_model in ("on-demand", "spot") and self.commitment != "none":
            raise ValueError(f"pricing_model {self.pricing_model!r} has no commitment")
        if self.variant == "plan" and not (self.public or self.plan_ref):
            raise ValueError("a plan variant needs plan_ref (where in the plan) and public (the public item's id)")
        return self

    @property
    def tier_list(self) -> tuple[Tier, ...]:
        """Tiers, with a flat price as one unbounded tier: the cost model has one code path."""
        return self.tiers or (Tier(up_to=None, usd=self.usd),)

    @property
    def first_usd(self) -> Decimal:
        """The price of the first tier (the flat price when untiered), per `per` units."""
        return self.tier_list[0].usd

    def usd_per_unit(self) -> Decimal:
        """The first tier's price of one base unit (exact Decimal division)."""
        return self.first_usd / self.per

    def price_text(self) -> str:
        """'$0.60 per 1M requests', '$0.023 per GB-month (tier 1 of 3)'."""
        unit = SINGULAR.get(self.unit, self.unit) if self.per == 1 else f"{format_per(self.per)} {self.unit}"
        tiers = f" (tier 1 of {len(self.tiers)})" if len(self.tiers) > 1 else ""
        return f"${self.first_usd:f} per {unit}{tiers}"


class Snapshot(_Strict):
    as_of: dt.date
    region: str
    note: str = Field(min_length=1)  # how the values were obtained (transcribed or fetched, and when)


class Catalog(_Strict):
    snapshot: Snapshot
    items: dict[str, PriceItem]
    path: str = ""  # where it was loaded from; filled in by the loader
