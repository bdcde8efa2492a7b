"""`dawg-bench cost refresh` offline: botocore's Stubber plays AWS (Price List API for one EC2 and one
SageMaker SKU, EC2 spot history), including a refusal (ClientError), no credentials and no network.
Nothing here reaches AWS: stubbed clients never send, and the no-credentials case fails before signing
(with AWS_ENDPOINT_URL pointed at a closed local port in case a credential were found anyway)."""

import datetime as dt
import json
from decimal import Decimal as D

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber

from harness.cli import main
from harness.errors import UserError
from pricing import load_catalog
from pricing import refresh as refresh_module
from pricing.refresh import refresh_catalog, write_refreshed

TODAY = dt.date(2026, 12, 5)
EC2_SKU = "ec2.g4dn.xlarge"
SM_SKU = "sagemaker.training.ml.g5.12xlarge"
SPOT_SKU = "ec2.g4dn.xlarge.spot"


def product(sku: str, usd: str, usagetype: str, unit: str = "Hrs") -> str:
    """One Price List API entry as AWS sends it: a JSON *string*."""
    return json.dumps({
        "product": {"sku": sku, "productFamily": "Compute Instance", "attributes": {"usagetype": usagetype}},
        "serviceCode": "AmazonEC2", "version": "20261120000000", "publicationDate": "2026-11-20T00:00:00Z",
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {"sku": sku, "offerTermCode": "JRTCKXETXF", "priceDimensions": {
            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {"unit": unit, "beginRange": "0", "endRange": "Inf",
                                             "pricePerUnit": {"USD": usd}, "description": "test"}}}}},
    })


def filters(**fields: str) -> list[dict]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in fields.items()]


EC2_FILTERS = filters(instanceType="g4dn.xlarge", location="US East (N. Virginia)", operatingSystem="Linux",
                      tenancy="Shared", preInstalledSw="NA", capacitystatus="Used")
SM_FILTERS = filters(instanceName="ml.g5.12xlarge", location="US East (N. Virginia)", component="Training")


def clients():
    kw = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    pricing = boto3.client("pricing", region_name="us-east-1", **kw)
    ec2 = boto3.client("ec2", region_name="us-east-1", **kw)
    return pricing, ec2


def expect_products(stub: Stubber, service: str, flt: list[dict], entries: list[str]) -> None:
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": entries},
                      {"ServiceCode": service, "Filters": flt, "FormatVersion": "aws_v1", "MaxResults": 100})


@pytest.fixture
def base():
    return load_catalog("2026-12-01")


def test_refresh_one_ec2_and_one_sagemaker_sku(base):
    pricing, ec2 = clients()
    with Stubber(pricing) as stub:
        expect_products(stub, "AmazonEC2", EC2_FILTERS, [product("EC2SKU", "0.5260000000", "BoxUsage:g4dn.xlarge")])
        expect_products(stub, "AmazonSageMaker", SM_FILTERS,
                        [product("SMSKU", "7.0900000000", "USE1-Train:ml.g5.12xlarge")])
        fresh = refresh_catalog(base, pricing, ec2, today=TODAY, only=[EC2_SKU, SM_SKU])
        stub.assert_no_pending_responses()
    ec2_item, sm_item = fresh.items[EC2_SKU], fresh.items[SM_SKU]
    assert ec2_item.usd == D("0.5260000000") and isinstance(ec2_item.usd, D)
    assert sm_item.usd == D("7.0900000000")
    for item in (ec2_item, sm_item):
        assert item.source_kind == "official" and item.as_of == TODAY
        assert "pricing.get_products" in item.source and "publicationDate 2026-11-20" in item.source
    assert fresh.snapshot.as_of == TODAY and "2 item(s) fetched" in fresh.snapshot.note
    # everything else is carried over with its own labels, never relabelled as fetched
    assert fresh.items["s3.standard.storage"] == base.items["s3.standard.storage"]


def test_spot_price_is_the_median_of_zones(base):
    pricing, ec2 = clients()
    now = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
    rows = [{"AvailabilityZone": z, "InstanceType": "g4dn.xlarge", "ProductDescription": "Linux/UNIX",
             "SpotPrice": p, "Timestamp": now - dt.timedelta(minutes=m)}
            for z, p, m in [("us-east-1a", "0.2000", 5), ("us-east-1a", "0.9000", 50),  # older row ignored
                            ("us-east-1b", "0.1600", 1), ("us-east-1c", "0.2500", 2)]]
    with Stubber(ec2) as stub:
        stub.add_response("describe_spot_price_history", {"SpotPriceHistory": rows},
                          {"InstanceTypes": ["g4dn.xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": ANY})
        fresh = refresh_catalog(base, pricing, ec2, today=TODAY, only=[SPOT_SKU], now=now)
    item = fresh.items[SPOT_SKU]
    assert item.usd == D("0.2000") and item.source_kind == "official"  # median of 0.16, 0.20, 0.25
    assert "median of 3 zones" in item.source


def test_refreshed_catalogue_round_trips(base, tmp_path):
    pricing, ec2 = clients()
    with Stubber(pricing) as stub:
        expect_products(stub, "AmazonEC2", EC2_FILTERS, [product("EC2SKU", "0.5", "BoxUsage:g4dn.xlarge")])
        fresh = refresh_catalog(base, pricing, ec2, today=TODAY, only=[EC2_SKU])
    path = write_refreshed(fresh, tmp_path / "2026-12-05.json")
    again = load_catalog(path)
    assert again.items == fresh.items and again.snapshot == fresh.snapshot


def test_two_matching_products_is_an_error(base):
    pricing, ec2 = clients()
    with Stubber(pricing) as stub:
        expect_products(stub, "AmazonEC2", EC2_FILTERS, [product("A", "0.5", "BoxUsage:g4dn.xlarge"),
                                                          product("B", "0.6", "DedicatedUsage:g4dn.xlarge")])
        with pytest.raises(UserError, match="match 2 products.*DedicatedUsage"):
            refresh_catalog(base, pricing, ec2, today=TODAY, only=[EC2_SKU])


# ─── the CLI ───────────────────────────────────────────────────────────────────────────────────


def cli_error(capsys, argv, expect):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert expect in err, err


def test_cli_refresh_writes_a_new_catalogue(monkeypatch, capsys, tmp_path):
    pricing, ec2 = clients()
    monkeypatch.setattr(refresh_module, "make_clients", lambda region="us-east-1": (pricing, ec2))
    out = tmp_path / "prices.json"
    with Stubber(pricing) as stub:
        expect_products(stub, "AmazonSageMaker", SM_FILTERS, [product("SMSKU", "7.2", "USE1-Train:ml.g5.12xlarge")])
        assert main(["cost", "refresh", "--only", SM_SKU, "--out", str(out), "--catalog", "2026-12-01"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert load_catalog(out).items[SM_SKU].usd == D("7.2")
    # and the breakdown can use it by path
    assert main(["cost", "--preset", "poc", "--catalog", str(out)]) == 0


def test_cli_refresh_client_error_is_one_line(monkeypatch, capsys, tmp_path):
    pricing, ec2 = clients()
    monkeypatch.setattr(refresh_module, "make_clients", lambda region="us-east-1": (pricing, ec2))
    out = tmp_path / "prices.json"
    with Stubber(pricing) as stub:
        stub.add_client_error("get_products", service_error_code="AccessDeniedException",
                              service_message="User is not authorized to perform: pricing:GetProducts",
                              http_status_code=400)
        cli_error(capsys, ["cost", "refresh", "--only", EC2_SKU, "--out", str(out)],
                  "AWS refused GetProducts for ec2.g4dn.xlarge: AccessDeniedException")
    assert not out.exists()


def test_cli_refresh_without_credentials_is_one_line(monkeypatch, capsys, tmp_path):
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never AWS, even if a credential turned up
    out = tmp_path / "prices.json"
    cli_error(capsys, ["cost", "refresh", "--only", EC2_SKU, "--out", str(out)], "no AWS credentials found")
    assert not out.exists()


def test_cli_refresh_without_network_is_one_line(monkeypatch, capsys, tmp_path):
    class Offline:
        def get_products(self, **kwargs):
            raise EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com/")

    monkeypatch.setattr(refresh_module, "make_clients", lambda region="us-east-1": (Offline(), None))
    cli_error(capsys, ["cost", "refresh", "--only", EC2_SKU, "--out", str(tmp_path / "p.json")],
              "cannot reach AWS (https://api.pricing.us-east-1.amazonaws.com/)")


def test_cli_refresh_unknown_or_unrefreshable_sku(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(refresh_module, "make_clients", lambda region="us-east-1": (None, None))
    cli_error(capsys, ["cost", "refresh", "--only", "ec2.g4dn.xlarg"], "did you mean 'ec2.g4dn.xlarge'?")
    cli_error(capsys, ["cost", "refresh", "--only", "s3.standard.storage"], "has no refresh spec")
