"""CloudWatch Smithy RPCv2 CBOR  <->  moto's CloudWatch JSON protocol.

WHY: aws-sdk-cloudwatch (Rust) and current botocore talk to CloudWatch with the
Smithy RPCv2 CBOR protocol:

    POST /service/GraniteServiceVersion20100801/operation/<Op>
    Content-Type: application/cbor, smithy-protocol: rpc-v2-cbor

moto only routes CloudWatch's Query and awsJson1.0 protocols (path "/"), so it
answers 404.  This bridge decodes the CBOR request, replays it into moto as the
equivalent awsJson1.0 request (X-Amz-Target: GraniteServiceVersion20100801.<Op>,
same Authorization header, so moto picks the same account and region), then
re-encodes moto's JSON answer as CBOR, typed by botocore's CloudWatch service
model (timestamps -> CBOR tag 1 + float epoch seconds, doubles -> float64,
blobs -> byte strings).  Every CloudWatch operation moto implements therefore
works, including PutMetricData, GetMetricData, ListMetrics, GetMetricStatistics.

Cross-account observability: moto ignores `AccountId` on GetMetricData
queries and always reads the caller's metrics.  A monitoring account's queries
that name an AccountId are split by account here, each group replayed into moto
as that account (x-moto-account-id), and the results merged back in query order
(permissive: no link between the accounts is checked).

Errors come back as HTTP 4xx with a CBOR map {"__type", "message"} plus the
awsQueryCompatible `x-amzn-query-error: <Code>;Sender` header, like AWS.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json

import cbor2

from wf_common import account_id_for, call_moto, respond

PREFIX = "/service/GraniteServiceVersion20100801/operation/"
TARGET_PREFIX = "GraniteServiceVersion20100801."
CBOR_HEADERS = [("smithy-protocol", "rpc-v2-cbor")]

_model = None


def _service_model():
    global _model
    if _model is None:
        import botocore.session

        _model = botocore.session.get_session().get_service_model("cloudwatch")
    return _model


def is_cbor_request(environ) -> bool:
    return environ.get("PATH_INFO", "").startswith(PREFIX)


def operation_of(environ) -> str:
    return environ.get("PATH_INFO", "")[len(PREFIX):].strip("/")


def cbor_error(start_response, status: int, code: str, message: str, query_error=None):
    body = cbor2.dumps({"__type": code, "message": message})
    headers = CBOR_HEADERS + [("x-amzn-query-error", query_error or f"{code};Sender")]
    return respond(start_response, status, body, "application/cbor", headers)


# ---- CBOR (decoded) -> JSON-protocol values: untyped, the JSON parser in moto knows the shapes.
def _to_json(value):
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items() if v is not None and v is not cbor2.undefined}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return float(value.value)
    return value


# ---- JSON-protocol answer -> CBOR values typed by the output shape.
def _epoch(value) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def _to_cbor(value, shape):
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            for key in (wire, name):
                if key in value and value[key] is not None:
                    out[name] = _to_cbor(value[key], member)
                    break
        return out
    if kind == "list":
        return [_to_cbor(v, shape.member) for v in value]
    if kind == "map":
        return {k: _to_cbor(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return cbor2.CBORTag(1, _epoch(value))
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return value


def _replay(moto_app, environ, params: dict, op: str, account: str | None = None):
    """Replays the decoded request into moto as awsJson1.0 (as `account` when given)."""
    json_body = json.dumps(_to_json(params or {})).encode()
    inner = dict(environ)
    for key in ("HTTP_CONTENT_ENCODING", "HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT"):
        inner.pop(key, None)
    inner.update({
        "PATH_INFO": "/",
        "RAW_URI": "/",
        "REQUEST_URI": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "HTTP_X_AMZ_TARGET": TARGET_PREFIX + op,
        "CONTENT_LENGTH": str(len(json_body)),
        "wsgi.input": io.BytesIO(json_body),
    })
    if account:
        inner["HTTP_X_MOTO_ACCOUNT_ID"] = account  # moto: x-moto-account-id beats the access key
    return call_moto(moto_app, inner)


def _get_metric_data_by_account(moto_app, environ, params: dict, op: str):
    """GetMetricData whose queries carry AccountId (cross-account observability): each
    account's queries run against that account's moto backend; results keep query order."""
    caller = account_id_for(environ)
    queries = params.get("MetricDataQueries") or []
    groups: dict[str, list[dict]] = {}
    for q in queries:
        groups.setdefault(str(q.get("AccountId") or caller), []).append(
            {k: v for k, v in q.items() if k != "AccountId"})
    by_id: dict[str, dict] = {}
    messages: list = []
    for account, group in groups.items():
        status, headers, raw = _replay(moto_app, environ, {**params, "MetricDataQueries": group}, op, account)
        if status >= 300:
            return status, headers, raw
        data = json.loads(raw) if raw.strip() else {}
        for result in data.get("MetricDataResults") or []:
            by_id[result["Id"]] = result
        messages.extend(data.get("Messages") or [])
    merged = {"MetricDataResults": [by_id[q["Id"]] for q in queries if q.get("Id") in by_id]}
    if messages:
        merged["Messages"] = messages
    return 200, {}, json.dumps(merged).encode()


def handle(environ, start_response, body: bytes, moto_app):
    op = operation_of(environ)
    model = _service_model()
    if op not in model.operation_names:
        return cbor_error(start_response, 404, "UnknownOperationException", f"Unknown operation {op}")
    op_model = model.operation_model(op)

    if "gzip" in environ.get("HTTP_CONTENT_ENCODING", "").lower():
        # The SDKs gzip PutMetricData bodies over 10 KiB (Smithy requestCompression trait).
        body = gzip.decompress(body)
    try:
        params = cbor2.loads(body) if body else {}
    except Exception as exc:  # noqa: BLE001 - any decode failure is the client's
        return cbor_error(start_response, 400, "SerializationException", f"invalid CBOR body: {exc}")

    if op == "GetMetricData" and any(q.get("AccountId") for q in (params or {}).get("MetricDataQueries") or []):
        status, headers, raw = _get_metric_data_by_account(moto_app, environ, params, op)
    else:
        status, headers, raw = _replay(moto_app, environ, params, op)

    if status >= 300:
        try:
            err = json.loads(raw or b"{}")
        except ValueError:
            err = {"__type": "InternalFailure", "message": raw.decode(errors="replace")[:500]}
        code = str(err.get("__type") or err.get("code") or "InternalFailure").split("#")[-1]
        message = err.get("message") or err.get("Message") or ""
        return cbor_error(start_response, status, code, message, headers.get("x-amzn-query-error"))

    if op_model.output_shape is None:
        out_body = b""  # Unit output: empty body (Smithy rpcv2-cbor)
    else:
        data = json.loads(raw) if raw.strip() else {}
        out_body = cbor2.dumps(_to_cbor(data, op_model.output_shape))
    return respond(start_response, 200, out_body, "application/cbor", CBOR_HEADERS)
