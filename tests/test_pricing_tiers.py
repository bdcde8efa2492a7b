"""Tiered prices and free allowances (pricing.tiers): boundaries are cumulative, free usage counts
toward the tier volume, and always-free and 12-month allowances stay apart."""

from decimal import Decimal as D

import pytest

from pricing import cost, load_catalog, price, tiered_usd
from pricing.schema import PriceItem


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("2026-12-01")


def test_s3_standard_at_exactly_50_tb_is_all_first_tier(catalog):
    s3 = price(catalog, "s3.standard.storage")
    # 50 TB = 50 × 1,024 GB = 51,200 GB (AWS ranges are binary TB), all at $0.023
    assert cost(s3, D(51200)).usd == D("1177.600")  # 51,200 × 0.023


def test_s3_standard_one_gb_over_50_tb_starts_the_second_tier(catalog):
    s3 = price(catalog, "s3.standard.storage")
    assert cost(s3, D(51201)).usd == D("1177.622")  # 51,200 × 0.023 + 1 × 0.022


def test_s3_standard_over_500_tb_third_tier(catalog):
    s3 = price(catalog, "s3.standard.storage")
    # 51,200 × 0.023 + 460,800 × 0.022 + 1,000 × 0.021
    assert cost(s3, D(513000)).usd == D("1177.600") + D("10137.600") + D("21.000")


@pytest.mark.parametrize("gb, usd", [
    (D(10240), D(10240) * D("0.085")),                               # exactly 10 TB: first tier only
    (D(10241), D(10240) * D("0.085") + D("0.080")),                   # 1 GB into the second tier
    (D(51200), D(10240) * D("0.085") + D(40960) * D("0.080")),         # exactly 50 TB
    (D(51201), D(10240) * D("0.085") + D(40960) * D("0.080") + D("0.060")),
])
def test_cloudfront_tier_edges_without_allowance(catalog, gb, usd):
    cf = price(catalog, "cloudfront.data-transfer-out")
    assert tiered_usd(cf, gb) == usd


def test_cloudfront_always_free_terabyte(catalog):
    cf = price(catalog, "cloudfront.data-transfer-out")
    below = cost(cf, D(1000))  # under the 1,024 GB always-free allowance: free, and labelled so
    assert below.usd == 0 and below.free_quantity == D(1000) and below.free_kind == "always-free"
    at = cost(cf, D(1024))
    assert at.usd == 0 and at.free_quantity == D(1024)
    above = cost(cf, D(2048))  # 1,024 GB charged at the first tier
    assert above.usd == D(1024) * D("0.085") and above.free_quantity == D(1024)
    # Free usage counts toward the tier volume: 20 TB is tiered as 20 TB, less 1 TB at the first tier's rate
    twenty = cost(cf, D(20480))
    assert twenty.usd == D(10240) * D("0.085") + D(10240) * D("0.080") - D(1024) * D("0.085")


def test_twelve_month_allowance_applies_only_in_the_first_year(catalog):
    api = price(catalog, "apigateway.rest.requests")
    assert api.free_always is None and api.free_12_month.quantity == D(1_000_000)
    later = cost(api, D(100_000))  # the plan's Option 2: 100k requests, account older than a year
    assert later.usd == D("0.35") and later.free_kind is None
    first_year = cost(api, D(100_000), free_tier_12_month=True)
    assert first_year.usd == 0 and first_year.free_kind == "12-month"
    above = cost(api, D(1_500_000), free_tier_12_month=True)
    assert above.usd == D(500_000) * D("3.50") / D(1_000_000) and above.free_quantity == D(1_000_000)


def test_always_free_and_twelve_month_are_separate_fields(catalog):
    """Data transfer out has only an always-free allowance; S3 Standard only a 12-month one."""
    dto = price(catalog, "ec2.data-transfer-out.internet")
    assert dto.free_always.quantity == D(100) and dto.free_12_month is None
    assert cost(dto, D(100)).usd == 0 and cost(dto, D(101)).usd == D("0.09")
    s3 = price(catalog, "s3.standard.storage")
    assert s3.free_always is None and s3.free_12_month.quantity == D(5)
    assert cost(s3, D(5)).usd == D("0.115")  # not in the first year: charged
    assert cost(s3, D(5), free_tier_12_month=True).usd == 0


def test_both_allowances_add_when_an_item_has_both():
    item = PriceItem(id="x", service="S", description="d", region="r", unit="GB", usd="0.1",
                     free_always={"quantity": "10"}, free_12_month={"quantity": "5"}, pricing_model="on-demand",
                     source="test", source_kind="assumed", as_of="2026-12-01")
    assert cost(item, D(20)).usd == D("1.0")  # 10 free
    both = cost(item, D(20), free_tier_12_month=True)
    assert both.usd == D("0.5") and both.free_kind == "always-free + 12-month"


def test_money_is_exact_decimal(catalog):
    lam = price(catalog, "lambda-edge.requests")
    assert isinstance(lam.usd, D) and lam.usd_per_unit() == D("0.0000006")
    assert cost(lam, D(1_000_000)).usd == D("0.60")
