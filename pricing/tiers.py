"""Tiered prices with free allowances: the one function that turns a quantity into dollars.

AWS counts free usage toward the tier volume: a month of 20 TB out of CloudFront with 1 TB free
is the 20 TB priced along the tiers, less the first 1 TB at the first tier's price. So the cost
is tiered(quantity) − tiered(free), with free capped at the quantity — not tiered(quantity − free),
which would shift the tier boundaries by the allowance. Always-free allowances always apply;
12-month allowances only when the caller says the account is still in its first year, because
they expire (and AWS stopped offering them to accounts opened from 2025-07-15).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pricing.schema import PriceItem

ZERO = Decimal(0)


@dataclass(frozen=True)
class TieredCost:
    usd: Decimal  # what is charged, after free allowances
    free_quantity: Decimal  # how much of the quantity an allowance covered
    free_kind: str | None  # "always-free", "12-month", "always-free + 12-month" or None
    free_usd: Decimal  # what the covered quantity would have cost


def tiered_usd(item: PriceItem, quantity: Decimal) -> Decimal:
    """The price of `quantity` base units along the item's tiers (a flat price is one tier), exact."""
    if quantity < 0:
        raise ValueError(f"{item.id}: negative quantity {quantity}")
    total = ZERO
    lower = ZERO
    for tier in item.tier_list:
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        if upper > lower:
            total += (upper - lower) * tier.usd / item.per
        if tier.up_to is None or quantity <= tier.up_to:
            break
        lower = tier.up_to
    return total


def cost(item: PriceItem, quantity: Decimal, *, free_tier_12_month: bool = False) -> TieredCost:
    """Charge for `quantity` base units in a month, free allowances applied (see the module doc)."""
    free = ZERO
    kinds = []
    if item.free_always is not None:
        free += item.free_always.quantity
        kinds.append("always-free")
    if free_tier_12_month and item.free_12_month is not None:
        free += item.free_12_month.quantity
        kinds.append("12-month")
    covered = min(free, quantity)
    gross = tiered_usd(item, quantity)
    free_usd = tiered_usd(item, covered)
    return TieredCost(usd=gross - free_usd, free_quantity=covered,
                      free_kind=" + ".join(kinds) if covered > 0 else None, free_usd=free_usd)
