"""EC2 facts moto cannot be told through the API: credit modes, AMI owners, Spot prices.

WHY:
  * DescribeInstanceCreditSpecifications: moto answers "standard" for every
    instance whatever RunInstances asked. watchfloor reads CPUSurplusCreditsCharged
    only in unlimited mode, so the tests must be able to set a burstable
    instance's mode.
  * AMI owners: every AMI moto loads is owned by Amazon, and an image registered
    in another account is invisible (each account is its own backend). An AMI
    shared from a stranger's account - the miners' favourite - cannot be made.
    The seeding endpoint re-owns an image the test registered itself.
  * Spot prices: moto's DescribeSpotPriceHistory answers "0.00001" for every
    type in every AZ of the region, and ignores AvailabilityZone and
    ProductDescriptions. Once a test sets a price for a region, the region's
    history is answered from what the tests set, filtered as AWS does.

Control endpoints (see README.md):
  POST /_watchfloor/ec2/credit-mode  {account_id, region, instance_id, mode}
  POST /_watchfloor/ec2/image-owner  {account_id, region, image_id, owner_id, owner_alias?}
  POST /_watchfloor/ec2/spot-price   {region, instance_type, availability_zone, product_description?, price}
"""

from __future__ import annotations

_applied = False
_spot: dict[str, list[dict]] = {}  # region -> seeded history entries


def reset() -> None:
    _spot.clear()


def set_spot_price(region: str, instance_type: str, az: str, product: str, price: str) -> dict:
    import datetime

    entry = {
        "InstanceType": instance_type,
        "ProductDescription": product,
        "SpotPrice": price,
        "AvailabilityZone": az,
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    _spot.setdefault(region, []).append(entry)
    return entry


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

    from moto.ec2.responses.spot_instances import SpotInstances

    moto_history = SpotInstances.describe_spot_price_history

    def describe_spot_price_history(self):
        seeded = _spot.get(self.region)
        if not seeded:
            return moto_history(self)
        types = self._get_param("InstanceTypes", []) or []
        products = self._get_param("ProductDescriptions", []) or []
        az = self._get_param("AvailabilityZone")
        history = [
            e for e in seeded
            if (not types or e["InstanceType"] in types)
            and (not products or e["ProductDescription"] in products)
            and (not az or e["AvailabilityZone"] == az)
        ]
        return ActionResult({"SpotPriceHistory": list(reversed(history))})

    SpotInstances.describe_spot_price_history = describe_spot_price_history


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
