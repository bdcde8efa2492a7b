"""The unit constants every price calculation shares, stated once.

AWS quotes hourly prices and bills months; turning one into the other needs an hours-per-month
constant, and the plan (docs: dawg-ml-plan.md) uses 730 (= 8,760 h a year / 12): "$0.526/hour × 730
hours = $384/month". Data sizes are the other trap: AWS's Price List API writes tier boundaries in GB
with 1 TB = 1,024 GB (S3's "first 50 TB" ends at 51,200 GB), while the plan's arithmetic mostly uses
1 TB = 1,000 GB ("1TB data transfer/month = $85" = 1,000 × $0.085) and once 1,024 ("10TB transfer =
$920" ≈ 10,240 × $0.09). So no module converts TB to GB silently: every conversion names which of
the two it uses (`gb_per_tb` in catalogue items and preset components).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

# 365 days × 24 h / 12 months = 730: the AWS calculator's and the plan's month.
HOURS_PER_MONTH = Decimal(730)

# The two readings of "TB"; data files must say which one they mean.
GB_PER_TB_DECIMAL = 1000  # SI, as in most of the plan's arithmetic
GB_PER_TB_BINARY = 1024  # AWS billing ranges (Price List API beginRange/endRange are in GB)
GbPerTb = Literal[1000, 1024]

# Base units a quantity is counted in. A price is quoted "per" some number of them (e.g. $0.60 per
# 1,000,000 requests), but quantities, tier boundaries and free allowances are always in base units,
# so a preset never has to know how AWS happens to quote a price.
UNITS: dict[str, str] = {
    "hours": "instance or resource hours",
    "LCU-hours": "load balancer capacity unit hours",
    "GB": "gigabytes transferred",
    "GB-months": "gigabytes stored for a month",
    "GB-seconds": "memory × duration (Lambda)",
    "requests": "requests or API calls",
    "object-months": "objects monitored for a month",
    "instance-months": "one instance for a whole month (prices quoted per month)",
    "plan-months": "one flat-rate plan for a month",
}

# How a price reads with one unit ("$0.526 per hour"); a price per many keeps the plural.
SINGULAR = {"hours": "hour", "LCU-hours": "LCU-hour", "GB-months": "GB-month", "GB-seconds": "GB-second",
            "requests": "request", "object-months": "object-month", "instance-months": "instance-month",
            "plan-months": "plan-month"}

# Units whose quantity is a data size, so a TB figure can be converted (with a stated gb_per_tb).
DATA_UNITS = frozenset({"GB", "GB-months"})


def format_per(per: Decimal) -> str:
    """'1M', '10k', '1k' or '1' — how AWS pages write the quantity a price applies to."""
    for size, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
        if per >= size and per % size == 0:
            return f"{per // size:,}{suffix}"
    return f"{per.normalize():f}"
