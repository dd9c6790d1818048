"""ECS task definitions that say when they were registered.

WHY: AWS's DescribeTaskDefinition (and RegisterTaskDefinition) return
`registeredAt`; moto 5.2 leaves it out. watchfloor flags a task whose task
definition was registered in the last 24 hours (`new-task-def`), so this layer
stamps `registeredAt` (epoch seconds, as the awsJson protocol sends timestamps)
on both answers: the time the revision was first seen here, or the time a test
set with `POST /_watchfloor/ecs/registered-at` (to make a revision old).
Everything else ECS goes to moto untouched.
"""

from __future__ import annotations

import json
import threading
import time

from wf_common import call_moto, respond

_ACTIONS = ("RegisterTaskDefinition", "DescribeTaskDefinition")
_lock = threading.Lock()
_registered: dict[str, float] = {}  # task definition ARN -> epoch seconds


def reset() -> None:
    with _lock:
        _registered.clear()


def set_registered_at(arn: str, at: float) -> dict:
    with _lock:
        _registered[arn] = float(at)
    return {"task_definition_arn": arn, "registered_at": float(at)}


def is_task_definition(info: dict) -> bool:
    return info["service"] == "ecs" and info["action"] in _ACTIONS


def handle(environ, start_response, moto_app):
    status, headers, raw = call_moto(moto_app, environ)
    ctype = headers.get("content-type", "application/x-amz-json-1.1")
    if status >= 300:
        return respond(start_response, status, raw, ctype)
    data = json.loads(raw or b"{}")
    td = data.get("taskDefinition")
    if isinstance(td, dict) and td.get("taskDefinitionArn"):
        with _lock:
            at = _registered.setdefault(td["taskDefinitionArn"], time.time())
        td["registeredAt"] = at
    return respond(start_response, 200, json.dumps(data).encode(), ctype)
