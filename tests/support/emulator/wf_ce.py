"""Cost Explorer GetAnomalies, answered from anomalies the tests seed.

WHY: moto's Cost Explorer has GetCostAndUsage (answered from its own
`/moto-api/static/ce/cost-and-usage-results` queue, per account) but no
anomaly detection: GetAnomalies is not implemented. watchfloor flags an account
with open cost anomalies, so the tests seed them here, per account.

Protocol: awsJson1.1, X-Amz-Target AWSInsightsIndexService.GetAnomalies,
signing name `ce`. `DateInterval.StartDate` keeps anomalies that started on or
after it; `EndDate` (optional) those that started on or before it.

Control endpoint (see README.md):
  POST /_watchfloor/ce/anomalies {"account_id"?, "anomalies": [{"id", "start", "end"?, "impact", "service"?, "region"?, "linked_account"?}]}
"""

from __future__ import annotations

import json
import threading

_lock = threading.Lock()
_anomalies: dict[str, list[dict]] = {}  # account id -> seeded anomalies


def reset() -> None:
    with _lock:
        _anomalies.clear()


def seed(account_id: str, anomalies: list[dict]) -> dict:
    with _lock:
        for a in anomalies:
            _anomalies.setdefault(account_id, []).append({
                "AnomalyId": str(a["id"]),
                "AnomalyStartDate": str(a["start"]),
                **({"AnomalyEndDate": str(a["end"])} if a.get("end") else {}),
                "DimensionValue": a.get("service") or "Amazon Elastic Compute Cloud - Compute",
                "RootCauses": [{k: v for k, v in (("Service", a.get("service")), ("Region", a.get("region")),
                                                   ("LinkedAccount", a.get("linked_account") or account_id)) if v}],
                "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.9},
                "Impact": {"MaxImpact": float(a["impact"]), "TotalImpact": float(a["impact"])},
                "MonitorArn": f"arn:aws:ce::{account_id}:anomalymonitor/wf-monitor",
            })
        return {"account_id": account_id, "count": len(_anomalies.get(account_id, []))}


def is_get_anomalies(info: dict) -> bool:
    return info["service"] == "ce" and info["action"] == "GetAnomalies"


def handle(start_response, body: bytes, account_id: str, respond_json):
    try:
        req = json.loads(body) if body.strip() else {}
    except ValueError:
        return _error(start_response, respond_json, "invalid JSON body")
    interval = req.get("DateInterval") or {}
    start = interval.get("StartDate")
    if not start:
        return _error(start_response, respond_json, "DateInterval.StartDate is required")
    end = interval.get("EndDate")
    with _lock:
        found = [
            a for a in _anomalies.get(account_id, [])
            if a["AnomalyStartDate"][:10] >= start[:10] and (not end or a["AnomalyStartDate"][:10] <= end[:10])
        ]
    return respond_json(start_response, 200, {"Anomalies": found})


def _error(start_response, respond_json, message: str):
    return respond_json(start_response, 400, {"__type": "ValidationException", "message": message},
                        [("x-amzn-ErrorType", "ValidationException")])
