"""The cost model and `dawg-bench cost`: presets load and price, a pinned total, "depends on usage"
instead of $0, and one-line errors (exit 2, no traceback) for every kind of bad input."""

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from harness.cli import main
from pricing import breakdown, load_catalog, load_preset, parse_preset, preset_registry, price_component
from pricing.catalogs import CATALOG_DIR
from pricing.presets import UsageComponent

CATALOG = "2026-12-01"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CATALOG)


def one_line_error(capsys, argv: list[str], expect: str) -> str:
    """Run the CLI; it must exit 2 with exactly one line on stderr containing `expect`."""
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert expect in err, err
    return err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ─── presets and the model ─────────────────────────────────────────────────────────────────────


def test_every_preset_loads_and_prices(catalog):
    names = sorted(preset_registry())
    assert names == ["option-1-browser", "option-2-hybrid", "option-3-production", "poc"]
    for name in names:
        result = breakdown(catalog, load_preset(name))
        assert result.lines and result.total_usd > 0
        for line in result.lines:
            assert line.quantity_source  # every quantity says where it comes from
            assert line.quantity_basis == "assumption"
            assert line.price_source and line.price_source_kind in ("official", "secondary", "assumed")
            assert line.price_as_of is not None
            assert line.cost_usd is None or isinstance(line.cost_usd, D)


def test_option_2_hybrid_total_is_pinned(catalog):
    """Golden: the plan's Option 2 priced with the 2026-12-01 catalogue.
    g4dn.xlarge   2 × 730 h × $0.526          = 767.96
    ALB hours     730 h × $0.0225             =  16.425
    API Gateway   100,000 × $3.50 / 1M        =   0.35
    CloudFront    1,000 GB, under the always-free 1,024 GB = 0
    S3 Standard   500 GB-months × $0.023      =  11.50
    total                                     = 796.235 (+ LCU-hours, CloudFront requests and data
    transfer out, which the plan gives no usage for: "depends on usage")
    The plan says $981.35: its $85 CloudFront is free here, its $100 transfer has no volume."""
    result = breakdown(catalog, load_preset("option-2-hybrid"))
    assert result.total_usd == D("796.235")
    assert result.total_text() == "$796.24 a month + 3 components that depend on usage"
    assert [f"{line.resource}/{line.component}" for line in result.depends_on_usage] == [
        "load-balancer/LCU-hours", "model-delivery/HTTPS requests", "egress/data transfer out"]
    cloudfront = next(line for line in result.lines if line.sku == "cloudfront.data-transfer-out")
    assert cloudfront.cost_usd == 0 and cloudfront.free_kind == "always-free"  # $0 with its reason, not silent


def test_component_without_usage_depends_on_usage(catalog):
    usage = UsageComponent(component="duration", sku="lambda-edge.duration", source="no usage in the plan")
    line = price_component(catalog, "edge", usage)
    assert line.cost_usd is None and line.depends_on_usage
    assert line.cost_text() == "depends on usage: $0.00005001 per GB-second"


def test_tb_quantities_state_their_gb_per_tb(catalog):
    usage = UsageComponent(component="storage", sku="s3.standard.storage", quantity_tb="5", gb_per_tb=1000,
                           source="plan: 5TB")
    assert price_component(catalog, "s3", usage).cost_usd == D("115.000")  # 5,000 GB × 0.023 (the plan's $115)
    binary = usage.model_copy(update={"gb_per_tb": 1024})
    assert price_component(catalog, "s3", binary).cost_usd == D("117.760")  # 5,120 GB × 0.023


def test_twelve_month_free_tier_is_a_preset_switch(catalog):
    raw = {"description": "d", "free_tier_12_month": True, "resources": [{"name": "api", "components": [
        {"component": "requests", "sku": "apigateway.rest.requests", "quantity": 100000, "source": "s"}]}]}
    assert breakdown(catalog, parse_preset(raw)).total_usd == 0
    raw["free_tier_12_month"] = False
    assert breakdown(catalog, parse_preset(raw)).total_usd == D("0.35")


def test_catalogue_items_are_complete_and_exact(catalog):
    for item in catalog.items.values():
        assert item.source and item.as_of and item.source_kind
        assert item.usd is not None or item.tiers
        if item.variant == "plan":
            assert item.public in catalog.items and item.plan_ref
    # the plan quotes the EC2 rate for a SageMaker instance: both are kept, labelled
    plan = catalog.items["plan.sagemaker.training.ml.p3.8xlarge"]
    assert plan.usd == catalog.items["ec2.p3.8xlarge"].usd != catalog.items[plan.public].usd


# ─── the CLI ───────────────────────────────────────────────────────────────────────────────────


def test_cli_breakdown_table(capsys):
    assert main(["cost", "--preset", "option-2-hybrid", "--catalog", CATALOG]) == 0
    out = capsys.readouterr().out
    assert "total: $796.24 a month + 3 components that depend on usage" in out
    assert "depends on usage: $0.008 per LCU-hour" in out
    assert "assumption" in out and "official [1]" in out and "2026-12-01" in out


def test_cli_breakdown_json(capsys):
    assert main(["cost", "--preset", "poc", "--json", "--catalog", CATALOG]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"] == "one-time" and data["constants"]["hours_per_month"] == "730"
    # 500 × 0.023 + 100 × 0.34 + 150 × 4.4064 + 20 × 0.68 + 2 × 0.023 = 11.5 + 34 + 660.96 + 13.6 + 0.046
    assert D(data["total_usd"]) == D("720.106")
    assert data["depends_on_usage"] == ["preprocessing/data transfer out"]
    assert all(isinstance(line["cost_usd"], str | None) for line in data["lines"])  # never a float


def test_cli_presets_and_prices(capsys):
    assert main(["cost", "presets"]) == 0
    assert "option-3-production" in capsys.readouterr().out
    assert main(["cost", "prices", "--catalog", CATALOG]) == 0  # --catalog after the verb works too
    out = capsys.readouterr().out
    assert "ec2.g4dn.xlarge" in out and "secondary (plan)" in out


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    assert "examples:" in capsys.readouterr().out


# ─── bad input: one line, exit 2 ───────────────────────────────────────────────────────────────

PRESET_HEAD = 'description = "t"\n[[resources]]\nname = "r"\n[[resources.components]]\ncomponent = "c"\nsource = "s"\n'


def test_unknown_preset_did_you_mean(capsys):
    one_line_error(capsys, ["cost", "--preset", "option-2-hybird"], "did you mean 'option-2-hybrid'?")


def test_unknown_catalog_date_did_you_mean(capsys):
    one_line_error(capsys, ["cost", "--catalog", "2026-12-02"], "did you mean '2026-12-01'?")


def test_unknown_sku_did_you_mean(capsys, tmp_path):
    p = write(tmp_path, "bad.toml", PRESET_HEAD + 'sku = "ec2.g4dn.xlrage"\nquantity = 1\n')
    one_line_error(capsys, ["cost", "--preset", str(p)], "did you mean 'ec2.g4dn.xlarge'?")


def test_negative_quantity(capsys, tmp_path):
    p = write(tmp_path, "neg.toml", PRESET_HEAD + 'sku = "ec2.g4dn.xlarge"\nquantity = -5\n')
    one_line_error(capsys, ["cost", "--preset", str(p)], "negative quantity -5")


def test_non_numeric_quantity(capsys, tmp_path):
    p = write(tmp_path, "nan.toml", PRESET_HEAD + 'sku = "ec2.g4dn.xlarge"\nquantity = "lots"\n')
    one_line_error(capsys, ["cost", "--preset", str(p)], "expected a number")


def test_missing_quantity_is_labelled_not_zero(capsys, tmp_path):
    p = write(tmp_path, "none.toml", PRESET_HEAD + 'sku = "ec2.g4dn.xlarge"\n')
    assert main(["cost", "--preset", str(p)]) == 0
    out = capsys.readouterr().out
    assert "depends on usage: $0.526 per hour" in out and "total: $0.00 a month + 1 component" in out


def test_tb_without_gb_per_tb(capsys, tmp_path):
    p = write(tmp_path, "tb.toml", PRESET_HEAD + 'sku = "s3.standard.storage"\nquantity_tb = 5\n')
    one_line_error(capsys, ["cost", "--preset", str(p)], "quantity_tb needs gb_per_tb")


def test_preset_missing_source(capsys, tmp_path):
    p = write(tmp_path, "src.toml", 'description = "t"\n[[resources]]\nname = "r"\n[[resources.components]]\n'
                                    'component = "c"\nsku = "ec2.g4dn.xlarge"\nquantity = 1\n')
    one_line_error(capsys, ["cost", "--preset", str(p)], "resources.0.components.0.source")


ITEM = '''[snapshot]
as_of = 2026-12-01
region = "us-east-1"
note = "test"
[items."x.item"]
service = "AmazonEC2"
description = "d"
region = "us-east-1"
unit = "hours"
pricing_model = "on-demand"
'''


@pytest.mark.parametrize("fields, expect", [
    ('source = "u"\nsource_kind = "official"\nas_of = 2026-12-01\n', 'items."x.item": give a price'),
    ('usd = "1"\nsource_kind = "official"\nas_of = 2026-12-01\n', 'items."x.item".source: missing'),
    ('usd = "1"\nsource = "u"\nsource_kind = "official"\n', 'items."x.item".as_of: missing'),
    ('usd = "1"\nsource = ""\nsource_kind = "official"\nas_of = 2026-12-01\n', 'items."x.item".source'),
    ('usd = 0.34\nsource = "u"\nsource_kind = "official"\nas_of = 2026-12-01\n', "not a float"),
    ('usd = "1"\nsource = "u"\nsource_kind = "guessed"\nas_of = 2026-12-01\n', "source_kind"),
    ('usd = "-1"\nsource = "u"\nsource_kind = "official"\nas_of = 2026-12-01\n', 'items."x.item".usd'),
])
def test_bad_catalogue_entries(capsys, tmp_path, fields, expect):
    path = write(tmp_path, "cat.toml", ITEM + fields)
    one_line_error(capsys, ["cost", "prices", "--catalog", str(path)], expect)


def test_bad_catalogue_tiers_need_gb_per_tb(capsys, tmp_path):
    path = write(tmp_path, "cat.toml", ITEM.replace('unit = "hours"', 'unit = "GB"') +
                 'tiers = [{ up_to = "10240", usd = "0.09" }, { usd = "0.085" }]\nsource = "u"\n'
                 'source_kind = "official"\nas_of = 2026-12-01\n')
    one_line_error(capsys, ["cost", "prices", "--catalog", str(path)], "gb_per_tb")


def test_shipped_catalogues_are_dated_files():
    assert all(p.stem[:4].isdigit() for p in CATALOG_DIR.iterdir() if p.suffix in (".toml", ".json"))
