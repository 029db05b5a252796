"""An inventory: known-ips entries kept over time, each with the first and last snapshot that saw it.

`known-ips discover --into FILE` merges each snapshot of an account's region into FILE. An address
(or network) of a VPC and account is held by one thing at a time; when it is seen held as before, its
entry's `to` moves to this snapshot; when something else holds it now, the old entry keeps its span
and the new holder gets one of its own, from this snapshot. Entries this snapshot does not see keep
their `to`: they are history. Entries without `from` and `to` were written by hand and are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from etl.errors import UsageError
from etl.known_ips import KnownIPs, entry_order, to_yaml
from etl.sources.timewindow import iso_time
from etl.statedir import write_private

Entry = dict[str, str]
Slot = tuple[str, str | None, str | None]  # ip or cidr, vpc, account: what one thing holds at a time
_TIMES = ("from", "to")


@dataclass(frozen=True)
class Merged:
    entries: list[Entry]
    seen: int  # entries seen again
    new: int  # new entries, of new addresses or of new holders
    gone: int  # entries the previous snapshot of the same VPCs saw and this one did not


def merge(inventory: Sequence[Mapping[str, str]], snapshot: Sequence[Mapping[str, str]], now: datetime) -> Merged:
    """The inventory with the snapshot taken at `now` merged in."""
    stamp = iso_time(int(now.timestamp()))
    # Both in the file's own shape, so that equal entries compare equal and the times, all in one
    # format, compare as text.
    entries = [dict(entry) for entry in KnownIPs.from_entries(inventory).entries]
    fresh = KnownIPs.from_entries(snapshot).entries
    timed = [i for i, entry in enumerate(entries) if all(key in entry for key in _TIMES)]
    latest: dict[Slot, int] = {}
    for i in timed:
        if (slot := _slot(entries[i])) not in latest or entries[i]["from"] > entries[latest[slot]]["from"]:
            latest[slot] = i
    vpcs = {entry.get("vpc") for entry in fresh}  # what the snapshot covers, one region of one account
    previous = max((entries[i]["to"] for i in timed if entries[i].get("vpc") in vpcs), default=None)
    gone = {i for i in timed if entries[i].get("vpc") in vpcs and entries[i]["to"] == previous}
    new: list[Entry] = []
    replaced = set()
    for entry in fresh:  # one per slot: KnownIPs refuses two entries of a network and place
        held = latest.get(_slot(entry))
        if held is not None and _what(entries[held]) == _what(entry):
            entries[held]["to"] = stamp
            gone.discard(held)
            continue
        if held is not None and entries[held]["from"] == stamp:
            replaced.add(held)  # an earlier run in this same second saw another holder: this run's view wins
        new.append({**entry, "from": stamp, "to": stamp})
    kept = [entry for i, entry in enumerate(entries) if i not in replaced] + new
    return Merged(_ordered(kept), len(fresh) - len(new), len(new), len(gone))


def update_inventory(path: Path, snapshot: Sequence[Mapping[str, str]], now: datetime) -> Merged:
    """Merge the snapshot into the inventory file at `path` (created if missing), replacing it whole."""
    merged = merge(KnownIPs.load(path).entries if path.exists() else [], snapshot, now)
    text = to_yaml(merged.entries)
    try:
        write_private(path, text)  # a new file beside it, renamed over it: never half an inventory
    except OSError as error:
        raise UsageError(f"cannot write the inventory {path}: {error.strerror}") from error
    return merged


def _slot(entry: Mapping[str, str]) -> Slot:
    return entry.get("ip") or entry["cidr"], entry.get("vpc"), entry.get("account")


def _what(entry: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in entry.items() if key not in _TIMES}


def _ordered(entries: list[Entry]) -> list[Entry]:
    """In `discover`'s order; the holders of one address newest first, after those written by hand, so
    that a lookup blind to time finds the hand-written name, else who holds the address now."""
    newest_first = sorted(entries, key=lambda e: ("from" not in e, e.get("from", "")), reverse=True)
    return sorted(newest_first, key=entry_order)
