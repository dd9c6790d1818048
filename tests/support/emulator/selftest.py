#!/usr/bin/env python3
"""Self-test of the watchfloor AWS emulator, with boto3 (shipped with moto) as the client.

    bash tests/support/emulator/setup.sh
    target/emulator-venv/bin/python tests/support/emulator/selftest.py -v

Starts watchfloor_emulator.py on a free loopback port and checks moto's basics that
watchfloor relies on plus every extension (see README.md).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.model
import cbor2
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "222222222222"
ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/watchfloor"
CW_PREFIX = "/service/GraniteServiceVersion20100801/operation/"


class EmulatorTest(unittest.TestCase):
    proc: subprocess.Popen
    endpoint: str

    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "watchfloor_emulator.py"), "--port", "0", "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.proc.stdout.readline().strip()  # blocks until the port line (or exit)
        assert line.startswith("WATCHFLOOR_EMULATOR_PORT="), f"unexpected first line: {line!r}"
        cls.endpoint = f"http://127.0.0.1:{int(line.split('=', 1)[1])}"

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)

    def setUp(self):
        self.http("POST", "/moto-api/reset")

    # ------------------------------------------------------------------ helpers
    def http(self, method, path, data=None, body=None, headers=None):
        if data is not None:
            body = json.dumps(data).encode()
        req = urllib.request.Request(self.endpoint + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def ctl(self, method, path, data=None):
        status, _, body = self.http(method, path, data)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def client(self, service, creds=None, retries=1, **kw):
        creds = creds or {"AccessKeyId": "AKIDWATCHFLOOR", "SecretAccessKey": "x"}
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=kw.pop("region", REGION),
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
            config=Config(retries={"total_max_attempts": retries, "mode": "standard"}), **kw)

    def assume(self, role=ROLE):
        return self.client("sts").assume_role(RoleArn=role, RoleSessionName="wf")["Credentials"]

    def cbor_call(self, op, payload, access_key="AKIDWATCHFLOOR", gzip_body=False):
        """A hand-made RPCv2 CBOR request, like aws-sdk-cloudwatch sends (signature not checked)."""
        body = cbor2.dumps(payload)
        headers = {
            "Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-query-mode": "true",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20260101/{REGION}/monitoring/aws4_request, "
                             "SignedHeaders=host;x-amz-date, Signature=00",
            "X-Amz-Date": "20260101T000000Z",
        }
        if gzip_body:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        status, resp_headers, raw = self.http("POST", CW_PREFIX + op, body=body, headers=headers)
        resp_headers = {k.lower(): v for k, v in resp_headers.items()}
        return status, resp_headers, (cbor2.loads(raw) if raw else None)

    # ------------------------------------------------------------------ moto basics + accounts
    def test_assume_role_puts_resources_in_the_role_account(self):
        creds = self.assume()
        self.assertEqual(self.client("sts", creds).get_caller_identity()["Account"], OTHER_ACCOUNT)
        self.assertEqual(self.client("sts").get_caller_identity()["Account"], DEFAULT_ACCOUNT)

        mine = self.client("ec2").run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)
        theirs = self.client("ec2", creds).run_instances(ImageId="ami-12345678", MinCount=2, MaxCount=2)
        self.assertEqual(theirs["OwnerId"], OTHER_ACCOUNT)

        def ids(c):
            return sorted(i["InstanceId"] for r in c.describe_instances()["Reservations"] for i in r["Instances"])
        self.assertEqual(ids(self.client("ec2")), [mine["Instances"][0]["InstanceId"]])
        self.assertEqual(ids(self.client("ec2", creds)), sorted(i["InstanceId"] for i in theirs["Instances"]))

        records = self.ctl("GET", "/_watchfloor/requests")
        ec2_accounts = {r["account_id"] for r in records if r["service"] == "ec2"}
        self.assertEqual(ec2_accounts, {DEFAULT_ACCOUNT, OTHER_ACCOUNT})
        self.assertIn({"service": "sts", "action": "AssumeRole", "account_id": DEFAULT_ACCOUNT, "region": REGION,
                       "method": "POST", "path": "/", "dry_run": False, "status": 200}, records)

    def test_describe_instances_pages_by_reservation_and_dry_run_is_412(self):
        ec2 = self.client("ec2")
        for count in (2, 2, 2, 1, 1, 1):
            ec2.run_instances(ImageId="ami-12345678", MinCount=count, MaxCount=count)
        # moto's MaxResults counts RESERVATIONS (AWS counts instances): 5 reservations = 8 instances.
        page = ec2.describe_instances(MaxResults=5)
        self.assertEqual((len(page["Reservations"]), sum(len(r["Instances"]) for r in page["Reservations"])), (5, 8))
        self.assertTrue(page["NextToken"])
        rest = ec2.describe_instances(MaxResults=5, NextToken=page["NextToken"])
        self.assertEqual((len(rest["Reservations"]), rest.get("NextToken")), (1, None))
        with self.assertRaises(ClientError) as err:
            ec2.stop_instances(InstanceIds=[page["Reservations"][0]["Instances"][0]["InstanceId"]], DryRun=True)
        self.assertEqual(err.exception.response["Error"]["Code"], "DryRunOperation")
        self.assertEqual(err.exception.response["ResponseMetadata"]["HTTPStatusCode"], 412)
        last = self.ctl("GET", "/_watchfloor/requests")[-1]
        self.assertEqual((last["action"], last["dry_run"], last["status"]), ("StopInstances", True, 412))

    # ------------------------------------------------------------------ (c) ENI groups replaced
    def test_security_group_changes_replace_groups(self):
        ec2 = self.client("ec2", self.assume())
        a, b, c = (ec2.create_security_group(GroupName=n, Description=n)["GroupId"] for n in "abc")
        inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SecurityGroupIds=[a])["Instances"][0]
        eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]

        def groups():
            i = ec2.describe_instances(InstanceIds=[inst["InstanceId"]])["Reservations"][0]["Instances"][0]
            e = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
            return ({g["GroupId"] for g in i["SecurityGroups"]}, {g["GroupId"] for g in i["NetworkInterfaces"][0]["Groups"]},
                    {g["GroupId"] for g in e["Groups"]})

        self.assertEqual(groups(), ({a}, {a}, {a}))
        with self.assertRaises(ClientError) as err:
            ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[b], DryRun=True)
        self.assertEqual(err.exception.response["Error"]["Code"], "DryRunOperation")
        self.assertEqual(groups(), ({a}, {a}, {a}))
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[b])
        self.assertEqual(groups(), ({b}, {b}, {b}))
        ec2.modify_instance_attribute(InstanceId=inst["InstanceId"], Groups=[c, a])
        self.assertEqual(groups(), ({c, a}, {c, a}, {c, a}))
        # Launched without groups: the VPC default group, on the instance and on its ENI.
        bare = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
        self.assertEqual([g["GroupName"] for g in bare["SecurityGroups"]], ["default"])

    # ------------------------------------------------------------------ (d) deny-role
    def test_deny_role(self):
        denied = f"arn:aws:iam::{OTHER_ACCOUNT}:role/locked"
        self.assertEqual(self.ctl("POST", "/_watchfloor/sts/deny-role", {"role_arn": denied})["denied_roles"], [denied])
        with self.assertRaises(ClientError) as err:
            self.assume(denied)
        self.assertEqual(err.exception.response["Error"]["Code"], "AccessDenied")
        self.assertEqual(err.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertIn(denied, err.exception.response["Error"]["Message"])
        self.assertEqual(self.assume()["AccessKeyId"][:4], "ASIA")  # other roles still work
        self.ctl("DELETE", "/_watchfloor/sts/deny-role", {"role_arn": denied})
        self.assume(denied)

    # ------------------------------------------------------------------ (e) faults
    def test_faults_in_each_protocol(self):
        self.ctl("POST", "/_watchfloor/faults", {"service": "ec2", "action": "DescribeInstances",
                                                 "code": "RequestLimitExceeded", "status": 503, "count": 2})
        ec2 = self.client("ec2")
        for _ in range(2):
            with self.assertRaises(ClientError) as err:
                ec2.describe_instances()
            self.assertEqual(err.exception.response["Error"]["Code"], "RequestLimitExceeded")
            self.assertEqual(err.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        ec2.describe_instances()
        ec2.describe_security_groups()  # other actions were never affected
        self.assertEqual(self.ctl("GET", "/_watchfloor/faults"), [])

        self.ctl("POST", "/_watchfloor/faults", {"service": "sts", "action": "*", "code": "Throttling", "status": 400})
        with self.assertRaises(ClientError) as err:
            self.assume()
        self.assertEqual(err.exception.response["Error"]["Code"], "Throttling")

        self.ctl("POST", "/_watchfloor/faults", {"service": "guardduty", "code": "InternalServerErrorException", "status": 500})
        with self.assertRaises(ClientError) as err:
            self.client("guardduty").list_detectors()
        self.assertEqual(err.exception.response["Error"]["Code"], "InternalServerErrorException")

        self.ctl("POST", "/_watchfloor/faults", {"service": "cloudwatch", "action": "GetMetricData",
                                                 "code": "ThrottlingException", "status": 400})
        status, headers, body = self.cbor_call("GetMetricData", {})
        self.assertEqual((status, body["__type"], headers["smithy-protocol"]), (400, "ThrottlingException", "rpc-v2-cbor"))

        self.ctl("POST", "/_watchfloor/faults", {"service": "ec2", "code": "RequestLimitExceeded", "count": 5})
        self.ctl("DELETE", "/_watchfloor/faults")
        ec2.describe_instances()

    # ------------------------------------------------------------------ (f) request record
    def test_request_record_and_clear(self):
        self.client("ec2").describe_regions()
        self.client("guardduty").list_detectors()
        recs = self.ctl("GET", "/_watchfloor/requests")
        self.assertEqual([(r["service"], r["action"]) for r in recs],
                         [("ec2", "DescribeRegions"), ("guardduty", "ListDetectors")])
        self.assertEqual(recs[1]["method"], "GET")
        self.ctl("DELETE", "/_watchfloor/requests")
        self.assertEqual(self.ctl("GET", "/_watchfloor/requests"), [])

    # ------------------------------------------------------------------ (b) GuardDuty findings
    def test_guardduty_findings(self):
        now_ms = int(time.time() * 1000)
        specs = [{"type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 2.0 + (n % 7),
                  "instance_id": f"i-{n % 3:017x}", "updated_at": now_ms - n * 60_000, "archived": n % 4 == 0}
                 for n in range(120)]
        specs.append({"id": "fixed-id", "type": "Backdoor:EC2/C&CActivity.B", "severity": 8.5,
                      "instance_id": "i-00000000000000abc", "title": "C2 traffic",
                      "updated_at": dt.datetime.now(dt.timezone.utc).isoformat()})
        seeded = self.ctl("POST", "/_watchfloor/guardduty/findings",
                          {"account_id": OTHER_ACCOUNT, "region": REGION, "findings": specs})
        self.assertEqual(len(seeded["finding_ids"]), 121)
        self.assertEqual(seeded["finding_ids"][-1], "fixed-id")

        gd = self.client("guardduty", self.assume())
        self.assertEqual(gd.list_detectors()["DetectorIds"], [seeded["detector_id"]])
        self.assertEqual(self.client("guardduty").list_detectors()["DetectorIds"], [])  # other account: nothing
        det = seeded["detector_id"]

        def list_all(criterion=None, page=50):
            ids, token, pages = [], None, 0
            while True:
                kw = {"DetectorId": det, "MaxResults": page}
                if criterion:
                    kw["FindingCriteria"] = {"Criterion": criterion}
                if token:
                    kw["NextToken"] = token
                out = gd.list_findings(**kw)
                self.assertLessEqual(len(out["FindingIds"]), page)
                ids += out["FindingIds"]
                pages += 1
                token = out.get("NextToken")
                if not token:
                    return ids, pages

        ids, pages = list_all()
        self.assertEqual((len(ids), len(set(ids)), pages), (121, 121, 3))
        self.assertEqual(len(list_all({"service.archived": {"Eq": ["false"]}})[0]), 121 - 30)
        self.assertEqual(len(list_all({"service.archived": {"Eq": ["true"]}})[0]), 30)
        recent = list_all({"updatedAt": {"GreaterThanOrEqual": now_ms - 9 * 60_000 - 1}})[0]
        self.assertEqual(len(recent), 11)  # n = 0..9 plus fixed-id
        self.assertEqual(set(list_all({"severity": {"Gte": 8}})[0]), {f for f, s in zip(seeded["finding_ids"], specs) if s["severity"] >= 8})
        self.assertEqual(list_all({"resource.instanceDetails.instanceId": {"Eq": ["i-00000000000000abc"]}})[0], ["fixed-id"])
        with self.assertRaises(ClientError):
            gd.list_findings(DetectorId=det, MaxResults=51)
        with self.assertRaises(ClientError) as err:
            gd.list_findings(DetectorId="0" * 32)
        self.assertEqual(err.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

        got = gd.get_findings(DetectorId=det, FindingIds=ids[:50])["Findings"]
        self.assertEqual(len(got), 50)
        f = gd.get_findings(DetectorId=det, FindingIds=["fixed-id", "no-such-id"])["Findings"]
        self.assertEqual(len(f), 1)
        f = f[0]
        self.assertEqual((f["Id"], f["AccountId"], f["Region"], f["Severity"], f["Title"], f["Type"]),
                         ("fixed-id", OTHER_ACCOUNT, REGION, 8.5, "C2 traffic", "Backdoor:EC2/C&CActivity.B"))
        self.assertEqual(f["Resource"]["ResourceType"], "Instance")
        self.assertEqual(f["Resource"]["InstanceDetails"]["InstanceId"], "i-00000000000000abc")
        self.assertEqual((f["Service"]["Archived"], f["Service"]["Count"]), (False, 1))
        self.assertTrue(f["UpdatedAt"].endswith("Z") and f["CreatedAt"].endswith("Z"))
        self.assertEqual(f["Arn"], f"arn:aws:guardduty:{REGION}:{OTHER_ACCOUNT}:detector/{det}/finding/fixed-id")
        with self.assertRaises(ClientError):
            gd.get_findings(DetectorId=det, FindingIds=ids[:51])

        gd.archive_findings(DetectorId=det, FindingIds=["fixed-id"])
        self.assertNotIn("fixed-id", list_all({"service.archived": {"Eq": ["false"]}})[0])
        self.assertTrue(gd.get_findings(DetectorId=det, FindingIds=["fixed-id"])["Findings"][0]["Service"]["Archived"])
        gd.unarchive_findings(DetectorId=det, FindingIds=["fixed-id"])
        self.assertIn("fixed-id", list_all({"service.archived": {"Eq": ["false"]}})[0])

        gd.create_sample_findings(DetectorId=det, FindingTypes=["CryptoCurrency:EC2/BitcoinTool.B!DNS"])
        self.assertEqual(len(list_all({"type": {"Eq": ["CryptoCurrency:EC2/BitcoinTool.B!DNS"]}})[0]), 1)
        desc = gd.list_findings(DetectorId=det, SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"},
                                MaxResults=1)["FindingIds"]
        self.assertEqual(desc, ["fixed-id"])

    def test_guardduty_finding_on_real_instance_is_enriched(self):
        creds = self.assume()
        inst = self.client("ec2", creds).run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                                       InstanceType="t3.micro")["Instances"][0]
        seeded = self.ctl("POST", "/_watchfloor/guardduty/findings", {
            "account_id": OTHER_ACCOUNT, "region": REGION,
            "findings": [{"type": "UnauthorizedAccess:EC2/SSHBruteForce", "severity": 5, "instance_id": inst["InstanceId"]}]})
        gd = self.client("guardduty", creds)
        f = gd.get_findings(DetectorId=seeded["detector_id"], FindingIds=seeded["finding_ids"])["Findings"][0]
        details = f["Resource"]["InstanceDetails"]
        self.assertEqual((details["InstanceId"], details["InstanceType"], details["InstanceState"]),
                         (inst["InstanceId"], "t3.micro", "running"))
        self.assertEqual(details["NetworkInterfaces"][0]["NetworkInterfaceId"], inst["NetworkInterfaces"][0]["NetworkInterfaceId"])

    # ------------------------------------------------------------------ (a) CloudWatch CBOR
    def test_cloudwatch_cbor_by_hand(self):
        end = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
        start = end - dt.timedelta(hours=1)
        dims = [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]
        data = [{"MetricName": "CPUUtilization", "Dimensions": dims, "Unit": "Percent",
                 "Timestamp": cbor2.CBORTag(1, (start + dt.timedelta(minutes=m)).timestamp()), "Value": float(m)}
                for m in range(0, 60)]
        status, headers, body = self.cbor_call("PutMetricData", {"Namespace": "AWS/EC2", "MetricData": data})
        self.assertEqual((status, body), (200, None), body)
        self.assertEqual(headers["smithy-protocol"], "rpc-v2-cbor")
        # The SDKs gzip large PutMetricData bodies.
        status, _, _ = self.cbor_call("PutMetricData", {"Namespace": "Custom", "MetricData": [
            {"MetricName": "Load", "Value": 1.0}] * 400}, gzip_body=True)
        self.assertEqual(status, 200)

        query = {"Id": "cpu", "MetricStat": {"Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                                                         "Dimensions": dims}, "Period": 300, "Stat": "Average"}}
        status, headers, body = self.cbor_call("GetMetricData", {
            "MetricDataQueries": [query], "StartTime": cbor2.CBORTag(1, start.timestamp()),
            "EndTime": cbor2.CBORTag(1, end.timestamp()), "MaxDatapoints": 100800})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "application/cbor")
        (result,) = body["MetricDataResults"]
        self.assertEqual((result["Id"], result["StatusCode"]), ("cpu", "Complete"))
        self.assertEqual(len(result["Timestamps"]), 12)
        self.assertTrue(all(isinstance(t, dt.datetime) for t in result["Timestamps"]))  # CBOR tag 1
        self.assertTrue(all(isinstance(v, float) for v in result["Values"]))
        by_time = dict(zip(result["Timestamps"], result["Values"]))
        self.assertEqual(by_time[start], 2.0)  # minutes 0..4 -> average 2
        self.assertEqual(by_time[start + dt.timedelta(minutes=55)], 57.0)
        self.assertNotIn("NextToken", body)

        status, _, body = self.cbor_call("GetMetricData", {**{"MetricDataQueries": [{**query, "MetricStat": {
            **query["MetricStat"], "Stat": "Maximum"}}]}, "StartTime": cbor2.CBORTag(1, start.timestamp()),
            "EndTime": cbor2.CBORTag(1, end.timestamp())})
        self.assertEqual(max(body["MetricDataResults"][0]["Values"]), 59.0)

        status, _, body = self.cbor_call("ListMetrics", {"Namespace": "AWS/EC2"})
        self.assertEqual([m["MetricName"] for m in body["Metrics"]], ["CPUUtilization"])

        # Metrics live in the account of the access key: an assumed-role key sees none of these.
        status, _, body = self.cbor_call("ListMetrics", {"Namespace": "AWS/EC2"}, access_key=self.assume()["AccessKeyId"])
        self.assertEqual(body.get("Metrics", []), [])

        status, headers, body = self.cbor_call("GetMetricData", {"MetricDataQueries": [query],
                                                                 "StartTime": cbor2.CBORTag(1, end.timestamp()),
                                                                 "EndTime": cbor2.CBORTag(1, end.timestamp())})
        self.assertEqual(status, 400)
        self.assertIn("__type", body)
        self.assertIn("message", body)
        status, _, body = self.cbor_call("NoSuchOperation", {})
        self.assertEqual((status, body["__type"]), (404, "UnknownOperationException"))

        recs = [r for r in self.ctl("GET", "/_watchfloor/requests") if r["service"] == "monitoring"]
        self.assertEqual([r["action"] for r in recs][:3], ["PutMetricData", "PutMetricData", "GetMetricData"])

    def test_cloudwatch_cbor_with_botocore_cbor_client(self):
        # botocore prefers awsJson for CloudWatch; force its RPCv2 CBOR serializer/parser instead,
        # as an independent check of the bridge's encoding.
        saved = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",) + tuple(
            p for p in saved if p != "smithy-rpc-v2-cbor")
        try:
            cw = self.client("cloudwatch")
        finally:
            botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = saved
        self.assertEqual(cw.meta.service_model.resolved_protocol, "smithy-rpc-v2-cbor")
        end = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
        dims = [{"Name": "InstanceId", "Value": "i-1"}]
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": dims, "Value": 10.0 * k,
             "Timestamp": end - dt.timedelta(minutes=10 * k + 1)} for k in range(6)])
        out = cw.get_metric_data(
            MetricDataQueries=[{"Id": "c", "MetricStat": {"Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                                                                      "Dimensions": dims}, "Period": 600, "Stat": "Maximum"}}],
            StartTime=end - dt.timedelta(hours=1), EndTime=end)
        self.assertEqual(sorted(out["MetricDataResults"][0]["Values"]), [0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
        self.assertEqual(out["ResponseMetadata"]["HTTPHeaders"]["content-type"], "application/cbor")
        with self.assertRaises(ClientError) as err:
            cw.get_metric_data(MetricDataQueries=[{"Id": "c"}], StartTime=end, EndTime=end)
        self.assertEqual(err.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    # ------------------------------------------------------------------ reset
    def test_reset_clears_extension_state(self):
        self.ctl("POST", "/_watchfloor/guardduty/findings", {"findings": [{"type": "T", "severity": 5, "instance_id": "i-1"}]})
        self.ctl("POST", "/_watchfloor/sts/deny-role", {"role_arn": ROLE})
        self.ctl("POST", "/_watchfloor/faults", {"service": "ec2", "code": "RequestLimitExceeded", "count": 3})
        self.assertEqual(len(self.client("guardduty").list_detectors()["DetectorIds"]), 1)
        self.http("POST", "/moto-api/reset")
        self.assertEqual(self.ctl("GET", "/_watchfloor/faults"), [])
        self.assertEqual(self.ctl("GET", "/_watchfloor/sts/deny-role")["denied_roles"], [])
        self.assertEqual(self.ctl("GET", "/_watchfloor/requests"), [])
        self.client("ec2").describe_instances()  # no fault left
        self.assume()  # no deny left
        self.assertEqual(self.client("guardduty").list_detectors()["DetectorIds"], [])
        seeded = self.ctl("POST", "/_watchfloor/guardduty/findings", {"findings": []})
        self.assertEqual(self.client("guardduty").list_findings(DetectorId=seeded["detector_id"])["FindingIds"], [])


if __name__ == "__main__":
    unittest.main()
