"""Small helpers shared by the watchfloor emulator modules.

Everything here reads a raw WSGI environ the same way moto itself does, so the
account and region an extension uses are the ones moto would use for the same
request.
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid

# `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/monitoring/aws4_request, ...`
_CRED_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def sigv4_scope(environ) -> tuple[str | None, str | None, str | None]:
    """(access_key, region, service) from the SigV4 Authorization header."""
    m = _CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not m:
        return None, None, None
    return m.group(1), m.group(3), m.group(4)


def account_id_for(environ) -> str:
    """The account moto would use for this request.

    Same precedence as moto.core.responses.BaseResponse.get_current_account:
    MOTO_ACCOUNT_ID env var, then the x-moto-account-id header, then the access
    key id (keys issued by moto's STS AssumeRole/IAM map to their account; any
    other key maps to the default account 123456789012).
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    access_key, _, _ = sigv4_scope(environ)
    return get_account_id_from(access_key or "AKIAEXAMPLE")


def read_body(environ) -> bytes:
    """Read the whole request body and put it back so moto can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length > 0:
        body = stream.read(length)
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
    return body


def request_id() -> str:
    return str(uuid.uuid4())


def respond(start_response, status: int, body: bytes, content_type: str, extra_headers=()):
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
              500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id()),
    ]
    headers.extend(extra_headers)
    start_response(f"{status} {reason}", headers)
    return [body]


def respond_json(start_response, status: int, obj, extra_headers=()):
    return respond(start_response, status, json.dumps(obj, default=str).encode(),
                   "application/json", extra_headers)


def call_moto(moto_app, environ) -> tuple[int, dict, bytes]:
    """Runs a request through moto and returns its status, lower-cased headers and body."""
    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = headers
        return lambda _data: None

    chunks = moto_app(environ, capture)
    try:
        raw = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    headers = {k.lower(): v for k, v in captured.get("headers", [])}
    return captured.get("status", 500), headers, raw
