"""Edge rows from records: the service-port rule and the sums."""

from __future__ import annotations

import pyarrow as pa
import pytest

from etl.aggregate import EdgeAccumulator, aws_service_addresses, edges

FIELDS = [
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
]


def records(*rows: tuple) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    types = [pa.string(), pa.string()] + [pa.int64()] * 7 + [pa.string(), pa.string()]
    return pa.table([pa.array(c, t) for c, t in zip(columns, types, strict=True)], names=FIELDS)


@pytest.mark.parametrize(
    ("srcport", "dstport", "port"),
    [
        (52000, 443, 443),  # request to a server
        (443, 52000, 443),  # its reply
        (0, 0, 0),  # ICMP
        (None, 22, 22),
        (None, None, -1),
    ],
)
def test_service_port_is_the_lower_port(srcport: int | None, dstport: int | None, port: int) -> None:
    table = edges(records(("10.0.0.1", "10.0.0.2", srcport, dstport, 6, 1, 40, 10, 20, "ACCEPT", "OK")))
    assert table["port"].to_pylist() == [port]


def test_replies_on_many_ephemeral_ports_make_one_edge() -> None:
    rows = [("10.0.3.30", "10.0.2.21", 5432, 32768 + i, 6, 2, 100, 100 + i, 160 + i, "ACCEPT", "OK") for i in range(50)]
    assert edges(records(*rows)).to_pylist() == [
        {
            "src": "10.0.3.30",
            "dst": "10.0.2.21",
            "port": 5432,
            "protocol": 6,
            "action": "ACCEPT",
            "bucket": 0,  # the day that began at 0: the records start at 100 to 149
            "count": 50,
            "packets": 100,
            "bytes": 5000,
            "requests": 0,  # the server's port is every record's source: all replies
            "replies": 50,
            "first_seen": 100,
            "last_seen": 209,
            "vpc": None,  # records without vpc-id and account-id: no network to keep apart
            "account": None,
            "era": None,  # no inventory whose addresses changed hands
        }
    ]


def test_nodata_and_skipdata_make_no_edges() -> None:
    table = records(
        (None, None, None, None, None, None, None, 1, 2, None, "NODATA"),
        (None, None, None, None, None, None, None, 1, 2, None, "SKIPDATA"),
        ("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 1, 1, 2, "REJECT", "OK"),
    )
    assert edges(table).num_rows == 1


def test_accumulator_folds_batches_to_the_same_result() -> None:
    rows = [(f"10.0.0.{i % 7}", "10.0.1.1", 40000 + i, 443, 6, 1, 10, i, i + 1, "ACCEPT", "OK") for i in range(700)]
    whole = edges(records(*rows))
    accumulator = EdgeAccumulator(flush_rows=5)
    for start in range(0, 700, 50):
        accumulator.add(records(*rows[start : start + 50]))
    assert sorted(accumulator.result().to_pylist(), key=str) == sorted(whole.to_pylist(), key=str)
    assert sum(accumulator.result()["count"].to_pylist()) == 700


def test_packet_addresses_tell_transit_traffic_apart() -> None:
    """The transit-gateway example of the AWS documentation: the TGW's interfaces see the instance's
    packet-level source address, not their own srcaddr."""
    from etl.parse import ParseStats
    from etl.pipeline import LoadOptions, records
    from etl.sources.local import LocalSource
    from tests.conftest import SAMPLES

    source = LocalSource(SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled/transit-gateway-with-header.log")
    accumulator = EdgeAccumulator()
    for table in records(source, LoadOptions(), ParseStats()):
        accumulator.add(table)
    assert {tuple(row.values()) for row in accumulator.paths().to_pylist()} == {
        ("10.40.1.175", "10.40.2.236", 80, 6, "ACCEPT", "vpc-abcdefab012345678", "123456789010", None, "10.20.33.164",
         "10.40.2.236"),
        ("10.40.2.236", "10.40.2.31", 80, 6, "ACCEPT", "vpc-abcdefab012345678", "123456789010", None, "10.40.2.236",
         "10.20.33.164"),
    }  # fmt: skip


def test_aws_service_fields_flag_the_service_address() -> None:
    table = pa.table(
        {
            "srcaddr": ["52.95.128.179", "10.0.0.71", "10.0.0.5"],
            "dstaddr": ["10.0.0.71", "52.95.128.179", "10.0.0.6"],
            "pkt-srcaddr": ["52.95.128.179", "10.0.0.71", "10.0.0.5"],
            "pkt-dstaddr": ["10.0.0.71", "52.95.128.179", "10.0.0.6"],
            "pkt-src-aws-service": ["S3", None, None],
            "pkt-dst-aws-service": [None, "S3", None],
        }
    )
    assert aws_service_addresses(table) == {"52.95.128.179"}


def test_a_file_without_traffic_makes_no_edges_and_no_error() -> None:
    """Only NODATA: nothing to identify, nothing dropped (an empty `all` is null in Arrow, not true)."""
    from etl.identified import identified
    from etl.identify import Naming
    from etl.parse import ParseStats

    accumulator = EdgeAccumulator()
    accumulator.add(records((None, None, None, None, None, None, None, 1, 2, None, "NODATA")))
    stats = ParseStats(records=1)
    edges, addresses = identified(accumulator, Naming(), stats)
    assert (edges.num_rows, addresses.num_rows, stats.records, sum(stats.malformed.values())) == (0, 0, 1, 0)


def test_packet_addresses_replace_the_interfaces_only_where_a_record_has_them() -> None:
    table = records(
        ("10.0.0.220", "203.0.113.5", 40000, 443, 6, 2, 100, 0, 60, "ACCEPT", "OK"),  # NAT: 10.0.1.5 behind it
        ("10.0.0.9", "10.0.0.10", 40000, 22, 6, 1, 10, 0, 60, "ACCEPT", "OK"),  # no packet addresses (v2 part)
        ("10.0.0.220", "203.0.113.5", 40001, 443, 6, 3, 300, 0, 60, "ACCEPT", "NODATA"),  # not traffic
    )
    table = table.append_column("pkt-srcaddr", pa.array(["10.0.1.5", None, "10.0.1.5"]))
    table = table.append_column("pkt-dstaddr", pa.array(["203.0.113.5", None, "203.0.113.5"]))
    by_packet = EdgeAccumulator(packet=True)
    by_packet.add(table)
    by_interface = EdgeAccumulator()
    by_interface.add(table)
    ends = {(r["src"], r["dst"], r["count"]) for r in by_packet.result().to_pylist()}
    assert ends == {("10.0.1.5", "203.0.113.5", 1), ("10.0.0.9", "10.0.0.10", 1)}
    assert by_packet.paths().num_rows == 0
    assert {(r["src"], r["dst"]) for r in by_interface.result().to_pylist()} == {
        ("10.0.0.220", "203.0.113.5"),
        ("10.0.0.9", "10.0.0.10"),
    }
    assert [(r["pkt_src"], r["pkt_dst"]) for r in by_interface.paths().to_pylist()] == [("10.0.1.5", "203.0.113.5")]
    assert by_packet.packet_differs == by_interface.packet_differs == 1  # the NODATA record is not traffic
