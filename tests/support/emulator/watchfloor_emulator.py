#!/usr/bin/env python3
"""watchfloor AWS test emulator: moto's server plus a few small, documented extensions.

    python watchfloor_emulator.py --port 0        # prints WATCHFLOOR_EMULATOR_PORT=<port>

It serves moto's whole AWS emulation (DomainDispatcherApplication, the same app as
`moto_server`) on 127.0.0.1, wrapped in one WSGI layer that adds:

  * CloudWatch Smithy RPCv2 CBOR             -> wf_cloudwatch_cbor.py
  * GuardDuty findings + seeding             -> wf_guardduty.py
  * ENI security groups replaced, not merged -> wf_ec2_groups.py
  * EC2 credit modes and AMI owners          -> wf_ec2_seed.py
  * CloudTrail LookupEvents + seeding        -> wf_cloudtrail.py
  * ECS list calls that page                 -> wf_ecs_paging.py
  * ECS task definitions with registeredAt   -> wf_ecs_registered.py
  * Price List GetProducts + seeding        -> wf_pricing.py
  * Spot price history seeding              -> wf_ec2_seed.py
  * Cost Explorer GetAnomalies + seeding     -> wf_ce.py
  * STS deny-role, fault injection, request record, reset hook -> this file

See README.md in this folder for the endpoints.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import wf_ce
import wf_cloudtrail
import wf_cloudwatch_cbor
import wf_ec2_groups
import wf_ec2_seed
import wf_ecs_paging
import wf_ecs_registered
import wf_guardduty
import wf_pricing
from wf_common import account_id_for, read_body, request_id, respond, respond_json, sigv4_scope

DEFAULT_REGION = "us-east-1"
# Service names as in the SigV4 credential scope; "cloudwatch" is accepted as an alias.
SERVICE_ALIASES = {"cloudwatch": "monitoring"}

_lock = threading.Lock()
_records: list[dict] = []  # request record (extension f)
_faults: list[dict] = []  # pending injected faults (extension e)
_denied_roles: set[str] = set()  # role ARNs whose AssumeRole fails (extension d)


def reset_extensions() -> None:
    """Called on POST /moto-api/reset and DELETE /_watchfloor/state."""
    with _lock:
        _records.clear()
        _faults.clear()
        _denied_roles.clear()
    wf_guardduty.reset()
    wf_cloudtrail.reset()
    wf_ecs_registered.reset()
    wf_pricing.reset()
    wf_ce.reset()
    wf_ec2_seed.reset()


# --------------------------------------------------------------------------- classify
def classify(environ, body: bytes) -> dict | None:
    """Service, action, account, region and DryRun of an AWS API request (None if not one).

    Query protocol (EC2, STS, CloudWatch-Query): `Action=` form or query param.
    CloudWatch RPCv2 CBOR: the operation is the last path segment.
    awsJson (X-Amz-Target): the part after the dot.
    GuardDuty REST-JSON: method + path, matched against botocore's model.
    """
    access_key, region, service = sigv4_scope(environ)
    if not service:
        return None
    service = service.lower()
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    params = {}
    ctype = environ.get("CONTENT_TYPE", "")
    if ctype.startswith("application/x-www-form-urlencoded") and body:
        params = parse_qs(body.decode("utf-8", "replace"))
    query = parse_qs(environ.get("QUERY_STRING", ""))

    action = (params.get("Action") or query.get("Action") or [None])[0]
    if not action and wf_cloudwatch_cbor.is_cbor_request(environ):
        action = wf_cloudwatch_cbor.operation_of(environ)
    if not action and environ.get("HTTP_X_AMZ_TARGET"):
        action = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[-1]
    if not action:
        action = rest_operation(service, method, path)
    dry_run = (params.get("DryRun") or query.get("DryRun") or ["false"])[0].lower() == "true"
    return {
        "service": service,
        "action": action or f"{method} {path}",
        "account_id": account_id_for(environ),
        "region": region or DEFAULT_REGION,
        "method": method,
        "path": path,
        "dry_run": dry_run,
        "params": params,
    }


_rest_routes: dict[str, list] = {}


def rest_operation(service: str, method: str, path: str) -> str | None:
    """Operation name of a REST request, from botocore's model (used for GuardDuty)."""
    import re

    import botocore.session

    boto_name = {"guardduty": "guardduty"}.get(service)
    if not boto_name:
        return None
    if boto_name not in _rest_routes:
        model = botocore.session.get_session().get_service_model(boto_name)
        routes = []
        for name in model.operation_names:
            http = model.operation_model(name).http
            uri = http["requestUri"].split("?")[0].rstrip("/") or "/"
            labels = uri.count("{")
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.escape(uri).replace(r"\{", "{").replace(r"\}", "}"))
            routes.append((labels, -len(uri), http["method"], re.compile(f"^{pattern}/?$"), name))
        routes.sort(key=lambda r: (r[0], r[1]))  # fewest labels, then longest literal first
        _rest_routes[boto_name] = routes
    for _, _, route_method, regex, name in _rest_routes[boto_name]:
        if route_method == method and regex.match(path):
            return name
    return None


# --------------------------------------------------------------------------- errors per protocol
def protocol_error(start_response, info: dict, status: int, code: str, message: str):
    """An AWS error in the wire format of the request's protocol."""
    service, rid = info["service"], request_id()
    if service == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(code)}</Code>'
                f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>")
        return respond(start_response, status, body.encode(), "text/xml;charset=UTF-8")
    if service == "monitoring" and info["path"].startswith(wf_cloudwatch_cbor.PREFIX):
        return wf_cloudwatch_cbor.cbor_error(start_response, status, code, message)
    if service in ("guardduty", "pricing", "ce"):
        return respond_json(start_response, status, {"__type": code, "message": message},
                            [("x-amzn-ErrorType", code)])
    # Query protocol (STS, CloudWatch Query)
    kind = "Receiver" if status >= 500 else "Sender"
    body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
    return respond(start_response, status, body.encode(), "text/xml")


def take_fault(info: dict) -> dict | None:
    with _lock:
        for fault in _faults:
            if fault["service"] == info["service"] and fault["action"] in ("*", info["action"]):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    _faults.remove(fault)
                return fault
    return None


# --------------------------------------------------------------------------- control API
def control(environ, start_response, body: bytes):
    """/_watchfloor/... test-control endpoints (see README.md)."""
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"].rstrip("/")
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        return respond_json(start_response, 400, {"error": f"invalid JSON: {exc}"})

    if path == "/_watchfloor/requests":
        with _lock:
            if method == "DELETE":
                _records.clear()
                return respond_json(start_response, 200, {"cleared": True})
            return respond_json(start_response, 200, list(_records))

    if path == "/_watchfloor/faults":
        with _lock:
            if method == "DELETE":
                _faults.clear()
                return respond_json(start_response, 200, {"cleared": True})
            if method == "GET":
                return respond_json(start_response, 200, list(_faults))
            if not data.get("service") or not (data.get("code") or data.get("body")):
                return respond_json(start_response, 400, {"error": "service and code (or body) are required"})
            service = str(data["service"]).lower()
            fault = {
                "service": SERVICE_ALIASES.get(service, service),
                "action": data.get("action") or "*",
                "code": data.get("code"),
                "body": data.get("body"),
                "status": int(data.get("status", 200 if data.get("body") else 400)),
                "message": data.get("message") or f"Injected fault: {data.get('code')}",
                "count": int(data.get("count", 1)),
            }
            _faults.append(fault)
            return respond_json(start_response, 200, fault)

    if path == "/_watchfloor/sts/deny-role":
        with _lock:
            if method == "DELETE":
                if data.get("role_arn"):
                    _denied_roles.discard(data["role_arn"])
                else:
                    _denied_roles.clear()
            elif method == "POST":
                if not data.get("role_arn"):
                    return respond_json(start_response, 400, {"error": "role_arn is required"})
                _denied_roles.add(data["role_arn"])
            return respond_json(start_response, 200, {"denied_roles": sorted(_denied_roles)})

    if path == "/_watchfloor/guardduty/findings" and method == "POST":
        result = wf_guardduty.seed(
            str(data.get("account_id") or "123456789012"),
            data.get("region") or DEFAULT_REGION,
            data.get("findings") or [],
            data.get("detector_id"),
        )
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/cloudtrail/events" and method == "POST":
        try:
            result = wf_cloudtrail.seed(
                str(data.get("account_id") or "123456789012"),
                data.get("region") or DEFAULT_REGION,
                data.get("events") or [],
            )
        except (KeyError, ValueError) as exc:
            return respond_json(start_response, 400, {"error": f"cloudtrail events: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/ecs/registered-at" and method == "POST":
        try:
            result = wf_ecs_registered.set_registered_at(str(data["task_definition_arn"]), data["at"])
        except (KeyError, ValueError, TypeError) as exc:
            return respond_json(start_response, 400, {"error": f"registered-at: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/ec2/credit-mode" and method == "POST":
        try:
            result = wf_ec2_seed.set_credit_mode(
                str(data["account_id"]), data.get("region") or DEFAULT_REGION,
                data["instance_id"], data["mode"],
            )
        except (KeyError, ValueError) as exc:
            return respond_json(start_response, 400, {"error": f"credit-mode: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/ec2/image-owner" and method == "POST":
        try:
            result = wf_ec2_seed.set_image_owner(
                str(data["account_id"]), data.get("region") or DEFAULT_REGION,
                data["image_id"], str(data["owner_id"]), data.get("owner_alias"),
            )
        except KeyError as exc:
            return respond_json(start_response, 400, {"error": f"image-owner: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/pricing/products" and method == "POST":
        try:
            result = wf_pricing.seed(list(data["products"]))
        except (KeyError, TypeError) as exc:
            return respond_json(start_response, 400, {"error": f"pricing products: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/ce/anomalies" and method == "POST":
        try:
            result = wf_ce.seed(str(data.get("account_id") or "123456789012"), list(data["anomalies"]))
        except (KeyError, TypeError, ValueError) as exc:
            return respond_json(start_response, 400, {"error": f"ce anomalies: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/ec2/spot-price" and method == "POST":
        try:
            result = wf_ec2_seed.set_spot_price(
                data.get("region") or DEFAULT_REGION, data["instance_type"],
                data["availability_zone"], data.get("product_description") or "Linux/UNIX",
                str(data["price"]),
            )
        except KeyError as exc:
            return respond_json(start_response, 400, {"error": f"spot-price: {exc!r}"})
        return respond_json(start_response, 200, result)

    if path == "/_watchfloor/state" and method == "DELETE":
        reset_extensions()
        return respond_json(start_response, 200, {"cleared": True})

    if path == "/_watchfloor/health":
        return respond_json(start_response, 200, {"ok": True})

    return respond_json(start_response, 404, {"error": f"no such control endpoint: {method} {path}"})


# --------------------------------------------------------------------------- the WSGI app
class WatchfloorApp:
    def __init__(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        wf_ec2_groups.apply()
        wf_ec2_seed.apply()
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        body = read_body(environ)

        if path.startswith("/_watchfloor/"):
            return control(environ, start_response, body)
        if path.rstrip("/") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            reset_extensions()  # moto resets its backends; we reset ours
            return self.moto(environ, start_response)

        info = classify(environ, body)
        if info is None:  # unsigned / non-AWS request: plain moto
            return self.moto(environ, start_response)

        record = {k: info[k] for k in ("service", "action", "account_id", "region", "method", "path", "dry_run")}
        record["status"] = None
        with _lock:
            _records.append(record)

        def recording_start_response(status, headers, exc_info=None):
            record["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        return self.dispatch(environ, recording_start_response, body, info)

    def dispatch(self, environ, start_response, body: bytes, info: dict):
        fault = take_fault(info)
        if fault and fault.get("body") is not None:
            # A canned answer, for states moto cannot reach (see README, extension 5).
            payload = fault["body"].encode()
            start_response(
                f"{fault['status']} Canned",
                [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        if fault:
            return protocol_error(start_response, info, fault["status"], fault["code"], fault["message"])

        if info["service"] == "sts" and info["action"] == "AssumeRole":
            role_arn = (info["params"].get("RoleArn") or [""])[0]
            with _lock:
                denied = role_arn in _denied_roles
            if denied:
                return protocol_error(
                    start_response, info, 403, "AccessDenied",
                    f"User: arn:aws:iam::{info['account_id']}:user/watchfloor-test is not authorized "
                    f"to perform: sts:AssumeRole on resource: {role_arn}")

        if info["service"] == "monitoring" and wf_cloudwatch_cbor.is_cbor_request(environ):
            return wf_cloudwatch_cbor.handle(environ, start_response, body, self.moto)

        if wf_ecs_paging.is_list(info):
            return wf_ecs_paging.handle(environ, start_response, body, info, self.moto)

        if wf_ecs_registered.is_task_definition(info):
            return wf_ecs_registered.handle(environ, start_response, self.moto)

        if wf_pricing.is_get_products(info):
            return wf_pricing.handle(start_response, body, respond_json)

        if wf_ce.is_get_anomalies(info):
            return wf_ce.handle(start_response, body, info["account_id"], respond_json)

        if wf_cloudtrail.is_lookup(info):
            try:
                data = json.loads(body) if body.strip() else {}
            except ValueError:
                return protocol_error(start_response, info, 400, "InvalidParameterException", "invalid JSON body")
            return wf_cloudtrail.handle(start_response, data, info["account_id"], info["region"])

        if info["service"] == "guardduty" and wf_guardduty.findings_operation(info["method"], info["path"]):
            try:
                data = json.loads(body) if body.strip() else {}
            except ValueError:
                return protocol_error(start_response, info, 400, "BadRequestException", "invalid JSON body")
            return wf_guardduty.handle(environ, start_response, data, info["account_id"], info["region"])

        return self.moto(environ, start_response)


def _exit_when_stdin_closes():
    """--exit-on-stdin-eof: die with the test process that holds our stdin pipe."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin reaches EOF (the parent test process died)")
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = WatchfloorApp()
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    print(f"WATCHFLOOR_EMULATOR_PORT={server.server_port}", flush=True)
    # Nothing else goes to stdout: the harness may stop reading it after the port line,
    # and a later print (moto has a few) must not hit a full or broken pipe.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
