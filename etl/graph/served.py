"""The record `vpcflow db serve` leaves in the state directory, and the check that it still serves.

A client sends the root password to the recorded port, so it must know that the listener there is the
server that wrote the record: after a `db serve` killed by SIGKILL the record stays, and any local user
may take the port. The record names the serving process; it is trusted only while that process is
alive, runs as this user, and holds the socket listening on the port (Linux: the socket's inode in
/proc/net/tcp{,6} is one of the `socket:[inode]` links in /proc/<pid>/fd, which only the owner of the
process, or root, can read). Where /proc cannot tell, the record is not trusted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from etl.statedir import read_unless_link, write_private

_LISTEN = "0A"  # TCP_LISTEN in include/net/tcp_states.h
# The local addresses whose listener takes a connection to 127.0.0.1 (a `::` socket may, if dual-stack).
_TAKES_LOOPBACK = {
    ipaddress.ip_address(a) for a in ("127.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0")
}


def record(path: Path, fields: dict[str, Any]) -> None:
    """Record the endpoint `fields` as served by this process."""
    write_private(path, json.dumps({**fields, "pid": os.getpid()}))


def verified(path: Path) -> dict[str, Any] | None:
    """The endpoint fields of the record at `path` when its process still serves them, else None."""
    text = read_unless_link(path)
    try:
        fields = json.loads(text or "")
        pid, port = int(fields.pop("pid")), int(fields["uri"].rsplit(":", 1)[1])
    except (ValueError, KeyError, TypeError, AttributeError):  # none, a link, or not written by us
        return None
    return fields if serves(pid, port) else None


def serves(pid: int, port: int) -> bool:
    """Whether process `pid` runs as this user and alone holds the sockets that take 127.0.0.1:`port`."""
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return False
        held = _socket_inodes(pid)
        listening = _listening_inodes(port)
    except OSError:  # gone, or its descriptors are not ours to read
        return False
    return bool(listening) and listening <= held


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # a descriptor closed while we look
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def _listening_inodes(port: int) -> set[int]:
    """The inodes of the listening TCP sockets that take connections to 127.0.0.1:`port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:  # no tcp6 without IPv6
            for line in list(lines)[1:]:
                local, state, inode = (line.split()[i] for i in (1, 3, 9))
                address, _, hex_port = local.partition(":")
                if state == _LISTEN and int(hex_port, 16) == port and _address(address) in _TAKES_LOOPBACK:
                    inodes.add(int(inode))
    return inodes


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as /proc/net/tcp{,6} prints it: 32-bit words in hex, each in the host's byte order."""
    words = (int(text[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(text), 8))
    return ipaddress.ip_address(b"".join(words))
