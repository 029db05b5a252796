"""A small EC2 graph in Cartography's shape, written through the store under one generation's labels.

Shape and properties as cartography-cncf/cartography writes them (`cartography/models/aws/ec2/
security_groups.py`, `security_group_rules.py`, `networkinterfaces.py`, `privateip_networkinterface.py`,
`ipv6_addresses.py`, `subnets.py`; before 0.108 `cartography/intel/aws/ec2/security_groups.py`'s own
Cypher). Rule ids follow Cartography's `{group}/{IpPermissions|IpPermissionsEgress}/{from}{to}{protocol}`,
with Python's None for an absent port; absent ports are absent properties.

Three groups in one VPC: `web` (HTTPS from two CIDRs, SSH from `bastion`, all traffic out), `db`
(PostgreSQL from `web`, ICMP from the VPC), `bastion` (SSH from an office range, everything from the
admin range, HTTPS out). Three interfaces: web's with two private addresses and a public one, the
database's carrying `db` and `web`, the bastion's with no subnet synced (its VPC comes from its group).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from etl.graph.store import GraphStore

ACCOUNT, VPC = "111111111111", "vpc-0a1"
WEB, DB, BASTION = "sg-0web", "sg-0db", "sg-0bastion"
ENI_WEB, ENI_DB, ENI_BASTION = "eni-0web", "eni-0db", "eni-0bastion"
SUBNET_A, SUBNET_B = "subnet-0a", "subnet-0b"


class Generation(NamedTuple):
    """The labels one range of Cartography releases gives each kind of node."""

    name: str
    group: str
    inbound: str
    egress: str
    range: str
    interface: str
    private_ip: str
    subnet: str
    allows_traffic_from: bool  # the group-to-group relationship, from 0.108
    ipv6: bool  # (interface)-[:IPV6_ADDRESS]->(AWSEC2Ipv6Address), from 0.136


CURRENT = Generation(  # 0.139.1 on: provider-prefixed labels, the old ones kept as extra labels until 1.0.0
    "current",
    group="AWSEC2SecurityGroup:EC2SecurityGroup:NetworkAccessControl",
    inbound="AWSIpPermissionInbound:IpPermissionInbound:IpRule:AWSIpRule",
    egress="AWSIpRule:IpRule",
    range="AWSIpRange:IpRange",
    interface="AWSNetworkInterface:NetworkInterface",
    private_ip="AWSEC2PrivateIp:EC2PrivateIp",
    subnet="AWSEC2Subnet:EC2Subnet",
    allows_traffic_from=True,
    ipv6=True,
)
DATA_MODEL = Generation(  # 0.108 to 0.129: the data-model loader, before any AWS prefix
    "0.108-0.129",
    group="EC2SecurityGroup",
    inbound="IpRule:IpPermissionInbound",
    egress="IpRule",
    range="IpRange",
    interface="NetworkInterface",
    private_ip="EC2PrivateIp",
    subnet="EC2Subnet",
    allows_traffic_from=True,
    ipv6=False,
)
HAND_WRITTEN = Generation(  # up to 0.107: security groups loaded by hand-written Cypher
    "up to 0.107",
    group="EC2SecurityGroup",
    inbound="IpPermissionInbound:IpRule",
    egress="IpPermissionEgress:IpRule",
    range="IpRange",
    interface="NetworkInterface",
    private_ip="EC2PrivateIp",
    subnet="EC2Subnet",
    allows_traffic_from=False,
    ipv6=False,
)
GENERATIONS = (CURRENT, DATA_MODEL, HAND_WRITTEN)


class Rule(NamedTuple):
    group: str
    rule_type: str  # IpPermissions or IpPermissionsEgress, as in EC2's DescribeSecurityGroups
    protocol: str
    from_port: int | None
    to_port: int | None
    ranges: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # UserIdGroupPairs: Cartography keeps only the group-level relationship

    @property
    def rule_id(self) -> str:
        return f"{self.group}/{self.rule_type}/{self.from_port}{self.to_port}{self.protocol}"


GROUPS = ((WEB, "web"), (DB, "db"), (BASTION, "bastion"))
RULES = (
    Rule(WEB, "IpPermissions", "tcp", 443, 443, ranges=("0.0.0.0/0", "10.0.0.0/8")),
    Rule(WEB, "IpPermissions", "tcp", 22, 22, groups=(BASTION,)),
    Rule(WEB, "IpPermissionsEgress", "-1", None, None, ranges=("0.0.0.0/0",)),
    Rule(DB, "IpPermissions", "tcp", 5432, 5432, groups=(WEB,)),
    Rule(DB, "IpPermissions", "icmp", -1, -1, ranges=("10.0.0.0/16",)),
    Rule(BASTION, "IpPermissions", "tcp", 22, 22, ranges=("203.0.113.0/24",)),
    Rule(BASTION, "IpPermissions", "-1", None, None, ranges=("10.9.0.0/16",)),
    Rule(BASTION, "IpPermissionsEgress", "tcp", 443, 443, ranges=("0.0.0.0/0",)),
)


class Interface(NamedTuple):
    id: str
    subnet: str | None
    private_ips: tuple[str, ...]  # the first is the primary, also on the interface itself
    public_ip: str | None
    groups: tuple[str, ...]
    ipv6: tuple[str, ...] = ()


INTERFACES = (
    Interface(ENI_WEB, SUBNET_A, ("10.0.1.11", "10.0.1.12"), "198.51.100.7", (WEB,), ipv6=("2001:db8::11",)),
    Interface(ENI_DB, SUBNET_B, ("10.0.3.30",), None, (DB, WEB)),
    Interface(ENI_BASTION, None, ("10.0.0.5",), "198.51.100.9", (BASTION,)),
)


def write_cartography_graph(store: GraphStore, generation: Generation) -> None:
    g = generation
    _write(store, "CREATE (:AWSAccount {id: $account}) CREATE (:AWSVpc {id: $vpc, vpcid: $vpc})")
    _write(
        store,
        f"""UNWIND $rows AS r
        MATCH (a:AWSAccount {{id: $account}}) MATCH (v:AWSVpc {{id: $vpc}})
        CREATE (a)-[:RESOURCE]->(sg:{g.group} {{id: r.id, groupid: r.id, name: r.name, region: 'eu-west-1'}})
        CREATE (v)-[:MEMBER_OF_EC2_SECURITY_GROUP]->(sg)""",
        rows=[{"id": id, "name": name} for id, name in GROUPS],
    )
    for rule_type, labels in (("IpPermissions", g.inbound), ("IpPermissionsEgress", g.egress)):
        _write(
            store,
            f"""UNWIND $rows AS r
            MATCH (sg:{_label(g.group)} {{id: r.group}})
            CREATE (rule:{labels} {{id: r.id, ruleid: r.id, groupid: r.group, protocol: r.protocol}})
            SET rule.fromport = r.from_port, rule.toport = r.to_port
            CREATE (rule)-[:MEMBER_OF_EC2_SECURITY_GROUP]->(sg)""",
            rows=[_rule_row(rule) for rule in RULES if rule.rule_type == rule_type],
        )
    cidrs = sorted({cidr for rule in RULES for cidr in rule.ranges})  # one node per CIDR, shared by rules
    _write(store, f"UNWIND $cidrs AS c CREATE (:{g.range} {{id: c, range: c}})", cidrs=cidrs)
    _write(
        store,
        f"""UNWIND $rows AS r MATCH (ip:{_label(g.range)} {{id: r.cidr}}) MATCH (rule:IpRule {{id: r.rule}})
        CREATE (ip)-[:MEMBER_OF_IP_RULE]->(rule)""",
        rows=[{"cidr": cidr, "rule": rule.rule_id} for rule in RULES for cidr in rule.ranges],
    )
    if g.allows_traffic_from:
        pairs = sorted({(rule.group, source) for rule in RULES for source in rule.groups})
        _write(
            store,
            f"""UNWIND $rows AS r MATCH (a:{_label(g.group)} {{id: r[0]}}) MATCH (b:{_label(g.group)} {{id: r[1]}})
            CREATE (a)-[:ALLOWS_TRAFFIC_FROM]->(b)""",
            rows=[list(pair) for pair in pairs],
        )
    _write_interfaces(store, g)


def _rule_row(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.rule_id,
        "group": rule.group,
        "protocol": rule.protocol,
        "from_port": rule.from_port,
        "to_port": rule.to_port,
    }


def _write_interfaces(store: GraphStore, g: Generation) -> None:
    # The subnet sync sets vpc_id and links the VPC; a subnet known only from an interface has neither.
    _write(
        store,
        f"""MATCH (v:AWSVpc {{id: $vpc}})
        CREATE (:{g.subnet} {{id: $a, subnetid: $a, vpc_id: $vpc}})
        CREATE (:{g.subnet} {{id: $b, subnetid: $b}})-[:MEMBER_OF_AWS_VPC]->(v)""",
        a=SUBNET_A,
        b=SUBNET_B,
    )
    rows = [{**i._asdict(), "primary": i.private_ips[0]} for i in INTERFACES]
    _write(
        store,
        f"""UNWIND $rows AS r
        MATCH (a:AWSAccount {{id: $account}})
        CREATE (a)-[:RESOURCE]->(n:{g.interface} {{id: r.id, private_ip_address: r.primary, subnetid: r.subnet}})
        SET n.public_ip = r.public_ip
        WITH n, r
        UNWIND r.groups AS group
        MATCH (sg:{_label(g.group)} {{id: group}})
        CREATE (n)-[:MEMBER_OF_EC2_SECURITY_GROUP]->(sg)""",
        rows=rows,
    )
    _write(
        store,
        f"""UNWIND $rows AS r MATCH (n:{_label(g.interface)} {{id: r.id}}) MATCH (s:{_label(g.subnet)} {{id: r.subnet}})
        CREATE (n)-[:PART_OF_SUBNET]->(s)""",
        rows=[row for row in rows if row["subnet"]],
    )
    ips = [
        {"id": f"{i.id}:{ip}", "eni": i.id, "ip": ip, "primary": n == 0, "public": i.public_ip if n == 0 else None}
        for i in INTERFACES
        for n, ip in enumerate(i.private_ips)
    ]
    _write(
        store,
        f"""UNWIND $rows AS r MATCH (n:{_label(g.interface)} {{id: r.eni}})
        CREATE (n)-[:PRIVATE_IP_ADDRESS]->(p:{g.private_ip} {{id: r.id, network_interface_id: r.eni,
                                                                private_ip_address: r.ip, primary: r.primary}})
        SET p.public_ip = r.public""",
        rows=ips,
    )
    if g.ipv6:
        _write(
            store,
            f"""UNWIND $rows AS r MATCH (n:{_label(g.interface)} {{id: r[0]}})
            CREATE (n)-[:IPV6_ADDRESS]->(:AWSEC2Ipv6Address:EC2Ipv6Address:Ip {{id: r[1], ipv6_address: r[1]}})""",
            rows=[[i.id, ip] for i in INTERFACES for ip in i.ipv6],
        )


def _label(labels: str) -> str:
    return labels.split(":")[0]


def _write(store: GraphStore, text: str, **parameters: Any) -> None:
    store.query(text, {"account": ACCOUNT, "vpc": VPC, **parameters}, writes=True)
