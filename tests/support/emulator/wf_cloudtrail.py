"""CloudTrail LookupEvents with seeded management events.

WHY: moto's CloudTrail has trails but no event history, so LookupEvents always
answers nothing. watchfloor asks "who launched this instance?" with
LookupEvents (LookupAttributes ResourceName = the instance id), so the tests
seed RunInstances events per account and region and this module answers
LookupEvents from them, in the awsJson1.1 shape botocore's model gives:
Events[] of {EventId, EventName, EventTime (epoch seconds), Username,
AccessKeyId, Resources[], CloudTrailEvent (the JSON record as a string)}.
Only the ResourceName and EventName lookup attributes are understood; StartTime
/ EndTime filter by EventTime; MaxResults pages with NextToken.

Seeding: POST /_watchfloor/cloudtrail/events
  {account_id, region, events: [{instance_id, principal, access_key_id?,
   source_ip?, user_agent?, at (RFC 3339 or epoch), event_name?}]}
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone

from wf_common import respond_json

_lock = threading.Lock()
_events: dict[tuple[str, str], list[dict]] = {}


def reset() -> None:
    with _lock:
        _events.clear()


def _epoch(v) -> float:
    if isinstance(v, (int, float)):
        return float(v)
    return datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()


def seed(account: str, region: str, specs: list[dict]) -> dict:
    ids = []
    with _lock:
        store = _events.setdefault((account, region), [])
        for s in specs:
            at = _epoch(s.get("at") or datetime.now(timezone.utc).timestamp())
            principal = s["principal"]
            record = {
                "eventVersion": "1.08",
                "userIdentity": {
                    "type": "IAMUser" if ":user/" in principal else "AssumedRole",
                    "arn": principal,
                    "accountId": account,
                    "accessKeyId": s.get("access_key_id", ""),
                },
                "eventTime": datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "eventSource": "ec2.amazonaws.com",
                "eventName": s.get("event_name", "RunInstances"),
                "awsRegion": region,
                "sourceIPAddress": s.get("source_ip", ""),
                "userAgent": s.get("user_agent", ""),
                "responseElements": {"instancesSet": {"items": [{"instanceId": s["instance_id"]}]}},
            }
            event = {
                "EventId": str(uuid.uuid4()),
                "EventName": record["eventName"],
                "ReadOnly": "false",
                "AccessKeyId": record["userIdentity"]["accessKeyId"],
                "EventTime": at,
                "EventSource": "ec2.amazonaws.com",
                "Username": principal.rsplit("/", 1)[-1],
                "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": s["instance_id"]}],
                "CloudTrailEvent": json.dumps(record),
            }
            store.append(event)
            ids.append(event["EventId"])
    return {"account_id": account, "region": region, "event_ids": ids}


def is_lookup(info: dict) -> bool:
    return info["service"] == "cloudtrail" and info["action"] == "LookupEvents"


def handle(start_response, body: dict, account: str, region: str):
    attrs = body.get("LookupAttributes") or []
    with _lock:
        events = list(_events.get((account, region), []))
    for a in attrs:
        key, value = a.get("AttributeKey"), a.get("AttributeValue")
        if key == "ResourceName":
            events = [e for e in events if any(r["ResourceName"] == value for r in e["Resources"])]
        elif key == "EventName":
            events = [e for e in events if e["EventName"] == value]
    if body.get("StartTime") is not None:
        events = [e for e in events if e["EventTime"] >= float(body["StartTime"])]
    if body.get("EndTime") is not None:
        events = [e for e in events if e["EventTime"] <= float(body["EndTime"])]
    events.sort(key=lambda e: -e["EventTime"])  # newest first, as CloudTrail answers
    start = int(body.get("NextToken") or 0)
    size = int(body.get("MaxResults") or 50)
    page = events[start:start + size]
    out = {"Events": page}
    if start + size < len(events):
        out["NextToken"] = str(start + size)
    return respond_json(start_response, 200, out)
