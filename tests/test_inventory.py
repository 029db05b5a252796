"""The inventory merge: who held each address from which snapshot to which, over three snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl.errors import UsageError
from etl.inventory import Merged, merge, update_inventory
from etl.known_ips import KnownIPs

T1, T2, T3 = "2026-12-01T06:00:00Z", "2026-12-02T06:00:00Z", "2026-12-03T06:00:00Z"
PLACE = {"vpc": "vpc-1", "account": "111122223333", "subnet": "subnet-1", "az": "use1-az1"}
VPC = {"cidr": "10.0.0.0/16", "name": "shop-vpc", "role": "vpc", "vpc": "vpc-1", "account": "111122223333"}
DB = {"ip": "10.0.1.5", "name": "db", "group": "data", "role": "instance", **PLACE, "eni": "eni-db"}
A = {"ip": "10.0.1.9", "name": "app-a", "group": "web", "role": "instance", **PLACE, "eni": "eni-a"}
B = {"ip": "10.0.1.9", "name": "app-b", "group": "web", "role": "instance", **PLACE, "eni": "eni-b"}
CACHE = {"ip": "10.0.1.7", "name": "cache", "group": "data", "role": "instance", **PLACE, "eni": "eni-c"}


def at(time: str) -> datetime:
    return datetime.fromisoformat(time)


def seen(entry: dict[str, str], first: str, last: str) -> dict[str, str]:
    return {**entry, "from": first, "to": last}


@pytest.fixture
def three_snapshots() -> list[Merged]:
    """The VPC and db seen all along; 10.0.1.9 moves from app-a to app-b after T1; cache goes after T2."""
    first = merge([], [VPC, A, CACHE, DB], at(T1))
    second = merge(first.entries, [VPC, B, CACHE, DB], at(T2))
    third = merge(second.entries, [VPC, B, DB], at(T3))
    return [first, second, third]


def test_first_snapshot_starts_every_span(three_snapshots: list[Merged]) -> None:
    first = three_snapshots[0]
    assert first.entries == [seen(VPC, T1, T1), seen(DB, T1, T1), seen(CACHE, T1, T1), seen(A, T1, T1)]
    assert (first.seen, first.new, first.gone) == (0, 4, 0)


def test_a_new_holder_gets_its_own_span(three_snapshots: list[Merged]) -> None:
    second = three_snapshots[1]
    # app-a's span closes at T1; app-b's starts at T2, listed first as the address's holder now.
    assert second.entries == [
        seen(VPC, T1, T2), seen(DB, T1, T2), seen(CACHE, T1, T2), seen(B, T2, T2), seen(A, T1, T1)
    ]  # fmt: skip
    assert (second.seen, second.new, second.gone) == (3, 1, 1)


def test_what_is_no_longer_seen_keeps_its_last_time(three_snapshots: list[Merged]) -> None:
    third = three_snapshots[2]
    assert third.entries == [
        seen(VPC, T1, T3), seen(DB, T1, T3), seen(CACHE, T1, T2), seen(B, T2, T3), seen(A, T1, T1)
    ]  # fmt: skip
    # app-a went in the second snapshot: only cache is gone since the one before.
    assert (third.seen, third.new, third.gone) == (3, 0, 1)


def test_the_old_holder_back_is_a_new_span(three_snapshots: list[Merged]) -> None:
    fourth = merge(three_snapshots[2].entries, [VPC, A, DB], at("2026-12-04T06:00:00Z"))
    held = [(e["name"], e["from"], e["to"]) for e in fourth.entries if e.get("ip") == "10.0.1.9"]
    assert held == [("app-a", "2026-12-04T06:00:00Z", "2026-12-04T06:00:00Z"), ("app-b", T2, T3), ("app-a", T1, T1)]


@pytest.mark.parametrize(
    ("key", "value"),
    [("name", "app-a2"), ("eni", "eni-a2"), ("group", "api"), ("role", "ecs-task"), ("subnet", "subnet-2"),
     ("az", "use1-az2")],
)  # fmt: skip
def test_any_change_but_the_place_is_a_new_holder(key: str, value: str) -> None:
    second = merge(merge([], [A], at(T1)).entries, [{**A, key: value}], at(T2))
    assert second.entries == [seen({**A, key: value}, T2, T2), seen(A, T1, T1)]


def test_the_same_address_in_another_vpc_is_another_slot() -> None:
    elsewhere = {**A, "vpc": "vpc-2"}
    second = merge(merge([], [A], at(T1)).entries, [A, elsewhere], at(T2))
    assert second.entries == [seen(A, T1, T2), seen(elsewhere, T2, T2)]
    assert (second.seen, second.new, second.gone) == (1, 1, 0)


def test_hand_written_entries_are_left_alone() -> None:
    by_hand = [{"ip": "10.0.1.9", "name": "the app", "vpc": "vpc-1", "account": "111122223333"},
               {"cidr": "192.168.0.0/16", "name": "office"}]  # fmt: skip
    second = merge(merge(by_hand, [A], at(T1)).entries, [B], at(T2))
    # Written by hand, it stays first: a lookup that ignores time still finds it.
    assert second.entries == [by_hand[0], seen(B, T2, T2), seen(A, T1, T1), by_hand[1]]


def test_gone_counts_only_the_vpcs_this_snapshot_covers() -> None:
    other = {**DB, "vpc": "vpc-9", "account": "999988887777"}  # another account's, merged by another run
    inventory = merge(merge([], [A, DB], at(T1)).entries, [other], at(T2)).entries
    third = merge(inventory, [A], at(T3))
    assert (third.seen, third.new, third.gone) == (1, 0, 1)  # db, not the other account's entry
    assert seen(other, T2, T2) in third.entries


def test_a_second_run_in_the_same_second_wins() -> None:
    first = merge([], [A], at(T1))
    again = merge(first.entries, [B], at(T1))
    assert again.entries == [seen(B, T1, T1)]


def test_the_file_is_created_then_merged_into(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    update_inventory(path, [VPC, A], at(T1))
    merged = update_inventory(path, [VPC, B], at(T2))
    assert KnownIPs.load(path).entries == merged.entries == [seen(VPC, T1, T2), seen(B, T2, T2), seen(A, T1, T1)]
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["inventory.yaml"]  # no temporary file left behind


def test_an_unwritable_inventory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^cannot write the inventory .*missing/inventory.yaml: No such file"):
        update_inventory(tmp_path / "missing" / "inventory.yaml", [A], at(T1))


def test_times_are_utc_to_the_second() -> None:
    moment = datetime(2026, 12, 1, 7, 0, 0, 900_000, tzinfo=UTC).astimezone()  # a local time zone
    assert merge([], [A], moment).entries == [seen(A, "2026-12-01T07:00:00Z", "2026-12-01T07:00:00Z")]
