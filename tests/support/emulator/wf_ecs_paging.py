"""ECS list calls that page, as AWS documents.

WHY: moto's ListClusters, ListServices and ListTasks ignore maxResults and
nextToken and always answer everything at once. watchfloor's ECS feed pages
them (AWS returns at most 100 ARNs a page), and the tests must prove it does,
so this layer replays the request to moto, then answers only the page asked
for: `maxResults` ARNs (default 100) from the offset in `nextToken`, with a
`nextToken` when more remain. Everything else ECS goes to moto untouched.
"""

from __future__ import annotations

import io
import json

from wf_common import call_moto, respond, respond_json

_LISTS = {"ListClusters": "clusterArns", "ListServices": "serviceArns", "ListTasks": "taskArns"}


def is_list(info: dict) -> bool:
    return info["service"] == "ecs" and info["action"] in _LISTS


def handle(environ, start_response, body: bytes, info: dict, moto_app):
    try:
        params = json.loads(body) if body.strip() else {}
    except ValueError:
        return respond_json(start_response, 400, {"__type": "InvalidParameterException", "message": "invalid JSON"})
    size = int(params.pop("maxResults", 100) or 100)
    start = int(params.pop("nextToken", 0) or 0)
    inner_body = json.dumps(params).encode()
    inner = dict(environ)
    inner.update({"CONTENT_LENGTH": str(len(inner_body)), "wsgi.input": io.BytesIO(inner_body)})
    status, headers, raw = call_moto(moto_app, inner)
    ctype = headers.get("content-type", "application/x-amz-json-1.1")
    if status >= 300:
        return respond(start_response, status, raw, ctype)
    data = json.loads(raw or b"{}")
    key = _LISTS[info["action"]]
    arns = data.get(key, [])
    out = {key: arns[start:start + size]}
    if start + size < len(arns):
        out["nextToken"] = str(start + size)
    return respond(start_response, 200, json.dumps(out).encode(), ctype)
