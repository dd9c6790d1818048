"""AWS Price List GetProducts, answered from products the tests seed.

WHY: moto has no Price List service (`pricing`). watchfloor prices every
instance type in use with GetProducts (ServiceCode AmazonEC2, TERM_MATCH filters
on instanceType, regionCode, operatingSystem, tenancy, preInstalledSw,
capacitystatus and licenseModel), so the tests seed a few products and this
module answers with AWS's product documents (a JSON string per product, the
hourly price under terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD).

Protocol: awsJson1.1, X-Amz-Target AWSPriceListService.GetProducts, signing
name `pricing`. A filter matches a seeded attribute exactly (case included: the
tests prove each value watchfloor sends). MaxResults (1..100, default 100) and
NextToken page the list.
Errors: HTTP 400 JSON {"__type", "message"} (InvalidParameterException).

Control endpoint (see README.md):
  POST /_watchfloor/pricing/products {"products": [{"usd": "0.096", "<attribute>": "<value>", ...}]}
"""

from __future__ import annotations

import json
import threading

_lock = threading.Lock()
_products: list[dict] = []  # {"sku", "attributes", "usd"}


def reset() -> None:
    with _lock:
        _products.clear()


def seed(products: list[dict]) -> dict:
    added = []
    with _lock:
        for p in products:
            attrs = {k: str(v) for k, v in p.items() if k != "usd"}
            sku = f"WFSKU{len(_products) + 1:06d}"
            _products.append({"sku": sku, "attributes": attrs, "usd": str(p["usd"])})
            added.append(sku)
    return {"skus": added}


def is_get_products(info: dict) -> bool:
    return info["service"] == "pricing" and info["action"] == "GetProducts"


def _document(p: dict) -> str:
    sku, term, rate = p["sku"], "JRTCKXETXF", "6YS6EN2CT7"
    return json.dumps({
        "product": {"productFamily": "Compute Instance", "attributes": p["attributes"], "sku": sku},
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {f"{sku}.{term}": {
            "offerTermCode": term,
            "sku": sku,
            "effectiveDate": "2026-12-01T00:00:00Z",
            "priceDimensions": {f"{sku}.{term}.{rate}": {
                "rateCode": f"{sku}.{term}.{rate}",
                "description": f"${p['usd']} per On Demand hour",
                "unit": "Hrs",
                "pricePerUnit": {"USD": p["usd"]},
            }},
        }}},
        "version": "20261201000000",
        "publicationDate": "2026-12-01T00:00:00Z",
    })


def handle(start_response, body: bytes, respond_json):
    try:
        req = json.loads(body) if body.strip() else {}
    except ValueError:
        return _error(start_response, respond_json, "invalid JSON body")
    if req.get("ServiceCode") != "AmazonEC2":
        return _error(start_response, respond_json, f"unknown ServiceCode {req.get('ServiceCode')!r}")
    filters = req.get("Filters") or []
    for f in filters:
        if f.get("Type") != "TERM_MATCH" or not f.get("Field"):
            return _error(start_response, respond_json, f"unsupported filter {f!r}")
    size = int(req.get("MaxResults") or 100)
    if not 1 <= size <= 100:
        return _error(start_response, respond_json, "MaxResults must be 1 to 100")
    start = int(req.get("NextToken") or 0)
    with _lock:
        matched = [
            p for p in _products
            if all(p["attributes"].get(f["Field"], "") == str(f.get("Value", "")) for f in filters)
        ]
    page = matched[start:start + size]
    out = {"FormatVersion": "aws_v1", "PriceList": [_document(p) for p in page]}
    if start + size < len(matched):
        out["NextToken"] = str(start + size)
    return respond_json(start_response, 200, out)


def _error(start_response, respond_json, message: str):
    return respond_json(start_response, 400, {"__type": "InvalidParameterException", "message": message},
                        [("x-amzn-ErrorType", "InvalidParameterException")])
