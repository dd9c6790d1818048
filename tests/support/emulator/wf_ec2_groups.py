"""Make security-group changes REPLACE an ENI's groups, as AWS documents.

WHY: AWS says ModifyNetworkInterfaceAttribute (SecurityGroupId.N) and
ModifyInstanceAttribute (GroupId.N) *replace* the interface's security groups
("you must specify at least one group, even if it's just the default", the new
set is the whole set).  In moto 5.2 an ENI attached to an instance reports the
UNION of its own groups and the instance's groups, and each call only updates
one side, so after a quarantine both the old and the new groups show up.
watchfloor's quarantine must be tested against AWS's behaviour, so:

  * an ENI reports only its own groups;
  * changing the primary ENI (device index 0) also changes the instance's
    groups (DescribeInstances' top-level SecurityGroups come from it on AWS);
  * ModifyInstanceAttribute GroupId.N sets the primary ENI's groups too;
  * an instance launched without groups reports its primary ENI's groups (the
    VPC's default group), as AWS does, instead of an empty list.
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True

    from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
    from moto.ec2.models.instances import Instance, InstanceBackend

    # An ENI's groups are its own groups, never merged with the instance's.
    NetworkInterface.group_set = property(lambda self: list(self._group_set))

    original_eni = NetworkInterfaceBackend.modify_network_interface_attribute

    def modify_network_interface_attribute(self, eni_id, group_ids, *args, **kwargs):
        original_eni(self, eni_id, group_ids, *args, **kwargs)  # sets eni._group_set when groups given
        eni = self.get_network_interface(eni_id)
        if group_ids and eni.instance is not None and eni.device_index == 0:
            eni.instance.security_groups = list(eni._group_set)

    NetworkInterfaceBackend.modify_network_interface_attribute = modify_network_interface_attribute

    original_instance = InstanceBackend.modify_instance_security_groups

    def modify_instance_security_groups(self, instance_id, new_group_id_list):
        instance = original_instance(self, instance_id, new_group_id_list)
        primary = getattr(instance, "nics", {}).get(0)
        if primary is not None:
            primary._group_set = list(instance.security_groups)
        return instance

    InstanceBackend.modify_instance_security_groups = modify_instance_security_groups

    original_prep_nics = Instance.prep_nics

    def prep_nics(self, *args, **kwargs):
        original_prep_nics(self, *args, **kwargs)
        primary = self.nics.get(0)
        if not self.security_groups and primary is not None:
            self.security_groups = list(primary._group_set)

    Instance.prep_nics = prep_nics
