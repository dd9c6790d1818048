"""EC2 facts moto cannot be told through the API: credit modes and AMI owners.

WHY:
  * DescribeInstanceCreditSpecifications: moto answers "standard" for every
    instance whatever RunInstances asked. watchfloor reads CPUSurplusCreditsCharged
    only in unlimited mode, so the tests must be able to set a burstable
    instance's mode.
  * AMI owners: every AMI moto loads is owned by Amazon, and an image registered
    in another account is invisible (each account is its own backend). An AMI
    shared from a stranger's account - the miners' favourite - cannot be made.
    The seeding endpoint re-owns an image the test registered itself.

Control endpoints (see README.md):
  POST /_watchfloor/ec2/credit-mode  {account_id, region, instance_id, mode}
  POST /_watchfloor/ec2/image-owner  {account_id, region, image_id, owner_id, owner_alias?}
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True

    from moto.ec2.responses.instances import InstanceResponse
    from moto.core.responses import ActionResult

    def describe_instance_credit_specifications(self):
        instance_ids = self._get_param("InstanceIds", [])
        instances = self.ec2_backend.describe_instance_credit_specifications(instance_ids)
        return ActionResult(
            {
                "InstanceCreditSpecifications": [
                    {"InstanceId": i.id, "CpuCredits": getattr(i, "_wf_credit_mode", "standard")}
                    for i in instances
                ]
            }
        )

    InstanceResponse.describe_instance_credit_specifications = describe_instance_credit_specifications


def _backend(account_id: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def set_credit_mode(account_id: str, region: str, instance_id: str, mode: str) -> dict:
    if mode not in ("standard", "unlimited"):
        raise ValueError("mode must be standard or unlimited")
    inst = _backend(account_id, region).get_instance(instance_id)
    inst._wf_credit_mode = mode
    return {"instance_id": instance_id, "mode": mode}


def set_image_owner(account_id: str, region: str, image_id: str, owner_id: str, owner_alias) -> dict:
    ami = _backend(account_id, region).amis[image_id]
    ami.owner_id = owner_id
    ami.owner_alias = owner_alias
    return {"image_id": image_id, "owner_id": owner_id, "owner_alias": owner_alias}
