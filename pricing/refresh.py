"""Live prices: `dawg-bench cost refresh` asks AWS for the items that carry a `refresh` spec and
writes a new dated catalogue beside the transcribed one.

On-demand prices come from the Price List API (`pricing.get_products`, served from us-east-1) with
TERM_MATCH filters that must pin exactly one product — two matches would mean picking a price at
random, so that is an error naming what differs. The API returns each product as a JSON *string*;
it is parsed with Decimal so no price passes through a float. Spot prices come from
`ec2.describe_spot_price_history` (the median of the availability zones' current prices; the range
goes into the source text). Items without a refresh spec are carried over unchanged with their own
source and as-of date, so the new file never pretends a transcribed price was fetched.

No credentials, no network, or a refusal from AWS is one line (a UserError), never a traceback,
and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.aws_errors import one_line_aws_errors
from harness.errors import UserError
from harness.registry import UnknownName, did_you_mean
from pricing.catalogs import catalog_dir, catalog_to_json
from pricing.schema import Catalog, PriceItem, RefreshSpec, Snapshot

# The Price List API is served from a few regions only; us-east-1 has every service's prices.
PRICING_ENDPOINT_REGION = "us-east-1"
# Price List API units → catalogue base units.
API_UNITS = {"Hrs": "hours", "Hours": "hours", "hours": "hours"}


def make_clients(region: str = "us-east-1") -> tuple[Any, Any]:
    """(pricing client, ec2 client) from the default credential chain. Creating them needs no network."""
    import boto3

    session = boto3.session.Session()
    return (session.client("pricing", region_name=PRICING_ENDPOINT_REGION),
            session.client("ec2", region_name=region))


def product_filters(spec: RefreshSpec) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in spec.filters.items()]


def fetch_on_demand(pricing_client: Any, item: PriceItem) -> tuple[Decimal, str, str]:
    """(USD per unit, unit, source text) of the one product `item.refresh` pins, on-demand terms."""
    spec = item.refresh
    response = pricing_client.get_products(ServiceCode=spec.service_code, Filters=product_filters(spec),
                                           FormatVersion="aws_v1", MaxResults=100)
    products = [json.loads(text, parse_float=Decimal) for text in response.get("PriceList", [])]
    if len(products) != 1 or response.get("NextToken"):
        usage = sorted({p.get("product", {}).get("attributes", {}).get("usagetype", "?") for p in products})
        more = " (and more pages)" if response.get("NextToken") else ""
        raise UserError(f"{item.id}: the refresh filters match {len(products)} products{more}, need exactly 1"
                        + (f"; usage types: {', '.join(usage)} (add a usagetype filter)" if products else ""))
    product = products[0]
    offers = list(product.get("terms", {}).get("OnDemand", {}).values())
    dimensions = [d for offer in offers for d in offer.get("priceDimensions", {}).values()]
    if len(dimensions) != 1:
        raise UserError(f"{item.id}: expected one on-demand price dimension, AWS returned {len(dimensions)}")
    dim = dimensions[0]
    usd = Decimal(str(dim.get("pricePerUnit", {}).get("USD", "")) or "NaN")
    if not usd.is_finite() or usd <= 0:
        raise UserError(f"{item.id}: AWS returned no usable USD price ({dim.get('pricePerUnit')}); "
                        f"the filters probably pin the wrong product")
    unit = API_UNITS.get(dim.get("unit", ""), dim.get("unit", ""))
    sku = product.get("product", {}).get("sku", "?")
    source = (f"AWS Price List API pricing.get_products {spec.service_code} sku {sku} "
              f"(version {product.get('version', '?')}, publicationDate {product.get('publicationDate', '?')})")
    return usd, unit, source


def fetch_spot(ec2_client: Any, item: PriceItem, now: dt.datetime) -> tuple[Decimal, str]:
    """(median current Linux spot price across availability zones, source text)."""
    spec = item.refresh
    response = ec2_client.describe_spot_price_history(InstanceTypes=[spec.instance_type],
                                                      ProductDescriptions=["Linux/UNIX"], StartTime=now)
    latest: dict[str, tuple[dt.datetime, Decimal]] = {}
    for row in response.get("SpotPriceHistory", []):
        zone, when, usd = row["AvailabilityZone"], row["Timestamp"], Decimal(str(row["SpotPrice"]))
        if zone not in latest or when > latest[zone][0]:
            latest[zone] = (when, usd)
    if not latest:
        raise UserError(f"{item.id}: AWS returned no spot price for {spec.instance_type} (Linux/UNIX)")
    prices = sorted(usd for _, usd in latest.values())
    mid = len(prices) // 2
    median = prices[mid] if len(prices) % 2 else (prices[mid - 1] + prices[mid]) / 2
    source = (f"AWS EC2 describe_spot_price_history {spec.instance_type} Linux/UNIX at {now:%Y-%m-%dT%H:%MZ}: "
              f"median of {len(prices)} zones (range ${prices[0]}–${prices[-1]})")
    return median, source


def refresh_catalog(base: Catalog, pricing_client: Any, ec2_client: Any, *, today: dt.date,
                    only: Iterable[str] | None = None, now: dt.datetime | None = None) -> Catalog:
    """A new catalogue: `base` with every refreshable item (or just `only`) priced live, dated `today`."""
    wanted = _select(base, only)
    now = now or dt.datetime.now(dt.UTC)
    items = dict(base.items)
    for sku in wanted:
        item = base.items[sku]
        with one_line_aws_errors(subject=sku, after="nothing was written"):
            if item.refresh.api == "pricing.get_products":
                usd, unit, source = fetch_on_demand(pricing_client, item)
                if unit != item.unit:
                    raise UserError(f"{sku}: AWS prices it per {unit!r}, the catalogue per {item.unit!r}")
            else:
                usd, source = fetch_spot(ec2_client, item, now)
        items[sku] = item.model_copy(update={
            "usd": usd, "tiers": (), "per": Decimal(1), "source": source, "source_kind": "official",
            "as_of": today,
            "note": f"fetched {today.isoformat()}; was {item.price_text()} ({item.source_kind}, {item.as_of})"})
    note = (f"refreshed {today.isoformat()}: {len(wanted)} item(s) fetched from AWS ({', '.join(wanted)}); "
            f"the other {len(items) - len(wanted)} carried over from {Path(base.path).name} with their own "
            f"source, source kind and as-of date")
    return Catalog(snapshot=Snapshot(as_of=today, region=base.snapshot.region, note=note), items=items)


def write_refreshed(catalog: Catalog, out: str | Path | None = None) -> Path:
    """Write atomically; default `pricing/catalog/<as_of>.json` (review it and commit it as a new snapshot)."""
    path = Path(out) if out else catalog_dir() / f"{catalog.snapshot.as_of.isoformat()}.json"
    return write_text_atomic(path, catalog_to_json(catalog))


def _select(base: Catalog, only: Iterable[str] | None) -> list[str]:
    refreshable = [sku for sku, item in base.items.items() if item.refresh is not None]
    if only is None:
        return refreshable
    chosen = []
    for sku in only:
        if sku not in base.items:
            raise UnknownName(f"unknown price item {sku!r}{did_you_mean(sku, refreshable).split(' (known:')[0]} "
                              f"(refreshable: {', '.join(refreshable)})")
        if base.items[sku].refresh is None:
            raise UserError(f"{sku}: has no refresh spec, so it cannot be fetched "
                            f"(refreshable: {', '.join(refreshable)})")
        chosen.append(sku)
    return chosen
