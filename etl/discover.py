"""Known addresses from an AWS account: the VPCs, subnets and network interfaces of one region.

As in cartography, `_get_*` functions are the only ones talking to EC2 (always through paginators,
so no 1,000-item page limit applies), and pure functions turn what they return into known-ips entries.
An interface is named after its instance's Name tag, or after what AWS made it for: NAT gateways and
VPC endpoints list their interfaces; load balancers, RDS, Lambda, ECS tasks and transit gateway
attachments say so in its description, and its interface type says what else it is.

Every entry also says where it is, as far as AWS tells: its `vpc` and `account` (the owner of the VPC,
subnet or interface), a subnet's or an address's `subnet` and `az` (the zone id, as flow logs' `az-id`
field carries it), and an address's `eni`. VPCs may reuse each other's ranges, so each network is
written once per VPC and account.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from etl.awsclients import aws_clients
from etl.errors import SourceError
from etl.known_ips import entry_order

EC2Client = Any  # boto3 builds clients at run time; their stubs (mypy-boto3-ec2) are not a dependency
Resource = Mapping[str, Any]
Entry = dict[str, str]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_GONE = frozenset({"disassociating", "disassociated", "failing", "failed"})  # CIDR association states
_IDS_PER_FILTER = 200  # EC2 takes at most 200 values in one filter
# Description of an interface AWS created for a service -> (name template, role); {interface} is its id.
_DESCRIBED = (
    # awsvpc tasks, on Fargate or attached to an EC2 container instance: the task's, not the instance's.
    (re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d+:attachment/[0-9a-f-]+"), "ecs-task {interface}", "ecs-task"),
    (re.compile(r"Network Interface for Transit Gateway Attachment (?P<name>tgw-attach-[0-9a-f]+)"),
     "transit-gateway {name}", "transit-gateway"),
    (re.compile(r"ELB (?:app|net|gwy)/(?P<name>[^/]+)/.*"), "{name}", "load-balancer"),
    (re.compile(r"ELB (?P<name>[^/\s]+)"), "{name}", "load-balancer"),  # a Classic Load Balancer
    (re.compile(r"RDSNetworkInterface"), "rds", "rds"),
    (re.compile(r"AWS Lambda VPC ENI-(?P<name>.+?)(?:-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})?"), "lambda {name}",
     "lambda"),
)  # fmt: skip
# InterfaceType -> role, for the interfaces of these kinds that nothing above named.
_TYPE_ROLES = {"load_balancer": "load-balancer", "network_load_balancer": "load-balancer",
               "gateway_load_balancer": "load-balancer", "gateway_load_balancer_endpoint": "vpc-endpoint",
               "vpc_endpoint": "vpc-endpoint", "nat_gateway": "nat-gateway", "lambda": "lambda",
               "transit_gateway": "transit-gateway"}  # fmt: skip
_SERVICE_PREFIX = re.compile(r"com\.amazonaws\.(?:vpce\.)?[a-z0-9-]+\.")
_CREDENTIALS_REFUSED = frozenset({"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
                                  "RequestExpired", "UnrecognizedClientException"})  # fmt: skip
_PERMISSION_DENIED = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
_PERMISSIONS = (
    "ec2:DescribeVpcs, DescribeSubnets, DescribeNetworkInterfaces, DescribeInstances, DescribeNatGateways "
    "and DescribeVpcEndpoints"
)


def make_ec2_client(profile: str | None, region: str | None, endpoint_url: str | None = None) -> EC2Client:
    """The EC2 client discovery takes, built here so the CLI never imports boto3."""
    [client] = aws_clients(profile, region, endpoint_url, "ec2")
    return client  # type: ignore[no-any-return]


def discover_known_ips(ec2: EC2Client, *, page_size: int | None = None) -> list[Entry]:
    """Known-ips entries for the client's region: VPC CIDRs (role vpc), subnets (role subnet), then
    every address of every network interface, each network once."""
    with ec2_errors(ec2.meta.region_name, f"discovery needs {_PERMISSIONS}"):
        return _discover(ec2, {"PageSize": page_size} if page_size else {})


@contextlib.contextmanager
def ec2_errors(region: str, needs: str) -> Iterator[None]:
    """botocore's errors as one sentence each; `needs` says which permissions the caller needs."""
    try:
        yield
    except NoCredentialsError as error:
        raise SourceError(
            f"no AWS credentials found to query EC2 in {region}: use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID"
        ) from error
    except ClientError as error:
        raise SourceError(_refusal(error, region, needs)) from error
    except BotoCoreError as error:  # unreachable endpoint, expired SSO token, ...: their own words
        raise SourceError(f"cannot query EC2 in {region}: {error}") from error


def _refusal(error: ClientError, region: str, needs: str) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    if code in _CREDENTIALS_REFUSED:
        return f"EC2 in {region} does not accept the AWS credentials in use ({code}); check --profile or AWS_PROFILE"
    if code in _PERMISSION_DENIED:
        return f"EC2 in {region} refused {error.operation_name} ({code}); {needs}"
    message = error.response.get("Error", {}).get("Message", "")
    return f"EC2 in {region} failed {error.operation_name}: {code} {message}".rstrip()


def _discover(ec2: EC2Client, paging: Mapping[str, int]) -> list[Entry]:
    vpcs = list(get_all(ec2, "describe_vpcs", "Vpcs", paging))
    subnets = list(get_all(ec2, "describe_subnets", "Subnets", paging))
    interfaces = list(get_all(ec2, "describe_network_interfaces", "NetworkInterfaces", paging))
    managed = _nat_gateway_names(get_all(ec2, "describe_nat_gateways", "NatGateways", paging))
    managed.update(_endpoint_names(get_all(ec2, "describe_vpc_endpoints", "VpcEndpoints", paging)))
    instance_ids = sorted(
        {i["Attachment"]["InstanceId"] for i in interfaces if "InstanceId" in i.get("Attachment", {})}
    )
    instances = _instance_names(_get_instances(ec2, instance_ids, paging))
    vpc_names = {vpc["VpcId"]: _name_tag(vpc) or vpc["VpcId"] for vpc in vpcs}
    groups = {s["SubnetId"]: _name_tag(s) or vpc_names.get(s["VpcId"], s["VpcId"]) for s in subnets}
    # An interface says its zone by name only; flow logs' az-id field has the zone id its subnet gives.
    zones = {s["SubnetId"]: s.get("AvailabilityZoneId") for s in subnets}
    entries = _vpc_entries(vpcs) + _subnet_entries(subnets, vpc_names)
    for interface in interfaces:
        name, role = _identify(interface, instances, managed)
        subnet = interface.get("SubnetId", "")
        group = groups.get(subnet) or vpc_names.get(interface.get("VpcId", ""))
        place = _place(interface, subnet=subnet, az=zones.get(subnet), eni=interface["NetworkInterfaceId"])
        entries += [_entry("ip", address, name, group, role, place) for address in interface_addresses(interface)]
    return _first_per_place(sorted(entries, key=entry_order))


def get_all(ec2: EC2Client, operation: str, key: str, paging: Mapping[str, int], **params: Any) -> Iterator[Resource]:
    pages = ec2.get_paginator(operation).paginate(PaginationConfig=dict(paging), **params)
    for page in pages:
        yield from page.get(key, [])


def _get_instances(ec2: EC2Client, ids: list[str], paging: Mapping[str, int]) -> Iterator[Resource]:
    # A filter rather than InstanceIds: EC2 refuses MaxResults with InstanceIds, and an id that has
    # gone since the interfaces were listed would fail the whole call.
    for at in range(0, len(ids), _IDS_PER_FILTER):
        batch = ids[at : at + _IDS_PER_FILTER]
        filters = [{"Name": "instance-id", "Values": batch}]
        for reservation in get_all(ec2, "describe_instances", "Reservations", paging, Filters=filters):
            yield from reservation.get("Instances", [])


def _name_tag(resource: Resource) -> str | None:
    tags = resource.get("Tags") or resource.get("TagSet") or []
    return next((t["Value"] for t in tags if t.get("Key") == "Name" and t.get("Value")), None)


def _instance_names(instances: Iterable[Resource]) -> dict[str, str]:
    return {i["InstanceId"]: _name_tag(i) or i["InstanceId"] for i in instances}


def _nat_gateway_names(gateways: Iterable[Resource]) -> dict[str, tuple[str, str]]:
    """Interface id -> (name, role) for NAT gateways' interfaces."""
    return {
        address["NetworkInterfaceId"]: (_name_tag(gateway) or f"nat-gateway {gateway['NatGatewayId']}", "nat-gateway")
        for gateway in gateways
        for address in gateway.get("NatGatewayAddresses", [])
        if address.get("NetworkInterfaceId")
    }


def _endpoint_names(endpoints: Iterable[Resource]) -> dict[str, tuple[str, str]]:
    """Interface id -> (name, role) for interface VPC endpoints, named after their service (s3, ecr.dkr)."""
    names = {}
    for endpoint in endpoints:
        service = _SERVICE_PREFIX.sub("", endpoint.get("ServiceName", ""), count=1)
        name = _name_tag(endpoint) or f"vpc-endpoint {service or endpoint['VpcEndpointId']}"
        names.update({interface: (name, "vpc-endpoint") for interface in endpoint.get("NetworkInterfaceIds", [])})
    return names


def _identify(
    interface: Resource, instances: Mapping[str, str], managed: Mapping[str, tuple[str, str]]
) -> tuple[str, str]:
    """(name, role): what its description says AWS made it for, the attached instance, the resource
    that lists it, what its type says, or its own id."""
    interface_id = interface["NetworkInterfaceId"]
    description = interface.get("Description", "")
    for pattern, template, role in _DESCRIBED:
        if match := pattern.fullmatch(description):
            return template.format(interface=interface_id, **match.groupdict()), role
    instance = interface.get("Attachment", {}).get("InstanceId")
    if instance:
        return instances.get(instance, instance), "instance"
    if interface_id in managed:
        return managed[interface_id]
    kind = interface.get("InterfaceType", "interface")
    return _name_tag(interface) or f"{kind.replace('_', '-')} {interface_id}", _TYPE_ROLES.get(kind, "interface")


def interface_addresses(interface: Resource) -> list[str]:
    """Every private address, the public address associated with each, and every IPv6 address."""
    found = []
    for private in interface.get("PrivateIpAddresses", []):
        found += [private.get("PrivateIpAddress"), private.get("Association", {}).get("PublicIp")]
    found.append(interface.get("Association", {}).get("PublicIp"))
    found += [v6.get("Ipv6Address") for v6 in interface.get("Ipv6Addresses", [])]
    return list(dict.fromkeys(a for a in found if a))


def _vpc_entries(vpcs: Iterable[Resource]) -> list[Entry]:
    return [
        _entry("cidr", cidr, _name_tag(vpc) or vpc["VpcId"], None, "vpc", _place(vpc))
        for vpc in vpcs
        for cidr in _cidrs(vpc)
    ]


def _subnet_entries(subnets: Iterable[Resource], vpc_names: Mapping[str, str]) -> list[Entry]:
    entries = []
    for subnet in subnets:
        name, group = _name_tag(subnet) or subnet["SubnetId"], vpc_names.get(subnet["VpcId"])
        place = _place(subnet, subnet=subnet["SubnetId"], az=subnet.get("AvailabilityZoneId"))
        entries += [_entry("cidr", cidr, name, group, "subnet", place) for cidr in _cidrs(subnet)]
    return entries


def _place(resource: Resource, **more: str | None) -> dict[str, str | None]:
    """Where a VPC, subnet or interface is: its VPC, the account owning it, and what else is known."""
    return {"vpc": resource.get("VpcId"), "account": resource.get("OwnerId"), **more}


def _cidrs(resource: Resource) -> list[str]:
    """A VPC's or subnet's IPv4 and IPv6 CIDRs, leaving out those being removed."""
    v4 = [(a.get("CidrBlock"), a.get("CidrBlockState", {})) for a in resource.get("CidrBlockAssociationSet", [])]
    v4 = v4 or [(resource.get("CidrBlock"), {})]  # subnets carry one CidrBlock, without an association set
    v6 = [
        (a.get("Ipv6CidrBlock"), a.get("Ipv6CidrBlockState", {}))
        for a in resource.get("Ipv6CidrBlockAssociationSet", [])
    ]
    # Leave out the states on the way out rather than list those in: moto, for one, garbles them.
    return [cidr for cidr, state in v4 + v6 if cidr and state.get("State") not in _GONE]


def _entry(kind: str, value: str, name: str, group: str | None, role: str, place: Mapping[str, str | None]) -> Entry:
    entry = {kind: value, "name": name}
    if group:
        entry["group"] = group
    entry["role"] = role
    entry.update({key: where for key, where in place.items() if where})
    return entry


def _network(entry: Entry) -> Network:
    return ipaddress.ip_network(entry.get("ip") or entry["cidr"])


def _first_per_place(entries: list[Entry]) -> list[Entry]:
    """Each network once per VPC and account, the first entry winning: a subnet as large as its VPC
    stays the VPC, while another VPC using the same range keeps its own."""
    seen: set[tuple[Network, str | None, str | None]] = set()
    unique = []
    for entry in entries:
        if (key := (_network(entry), entry.get("vpc"), entry.get("account"))) not in seen:
            seen.add(key)
            unique.append(entry)
    return unique
