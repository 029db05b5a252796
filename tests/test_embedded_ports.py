"""The embedded server starts even when the HTTP port it was given is taken by the time it binds, as
when two servers start at once (a process of its own: one embedded server per JVM here)."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.graph.embedded import _HTTP_PORTS

SCRIPT = """
import os, socket, sys, urllib.request
from pathlib import Path

import pytest
from etl.graph.embedded import _HTTP_PORTS, _free_port, _start_server

taken = socket.socket()
taken.bind(("127.0.0.1", 0))
taken.listen()
first = taken.getsockname()[1]
server = _start_server(Path(sys.argv[1]), "a-password-for-the-test", _free_port(), first)
for port in range(first + 1, first + _HTTP_PORTS + 1):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5) as answer:
            print(port - first, answer.status, flush=True)
            break
    except OSError:
        pass
server.stop()
os._exit(0)
"""


def test_a_taken_http_port_moves_the_server_to_the_next_free_one(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    offset, status = map(int, result.stdout.split())
    assert 1 <= offset <= _HTTP_PORTS and status == 204


SERVE_UNTIL_TOLD = """
import os, sys
from pathlib import Path

import pytest
from etl.graph.embedded import _free_port, _start_server

server = _start_server(Path(sys.argv[1]), "a-password-for-the-test", _free_port(), _free_port())
print("ready", flush=True)
sys.stdin.readline()
server.stop()
os._exit(0)
"""


def _listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every listening TCP socket process `pid` holds, from /proc."""
    held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and f"socket:[{fields[9]}]" in held:
                # 32-bit words in hex, each in the host's byte order
                raw = b"".join(
                    int(address[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(address), 8)
                )
                ip = ipaddress.ip_address(raw)
                # Java listens on IPv6 sockets: 127.0.0.1 shows as ::ffff:127.0.0.1
                found.add((str(getattr(ip, "ipv4_mapped", None) or ip), int(port, 16)))
    return found


def test_the_bolt_and_http_listeners_are_on_loopback_only(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_UNTIL_TOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        assert server.stdout.readline() == "ready\n"
        listening = _listening(server.pid)
        server.stdin.write("stop\n")
        server.stdin.flush()
        assert server.wait(timeout=60) == 0
    finally:
        server.kill()
    assert len(listening) >= 2  # Bolt and HTTP at least
    assert {address for address, _ in listening} <= {"127.0.0.1", "::1"}, listening


HEAP_SCRIPT = """
import os, sys
from pathlib import Path

import pytest
import jpype
from etl.graph.embedded import _free_port, _start_server

server = _start_server(Path(sys.argv[1]), "a-password-for-the-test", _free_port(), _free_port())
print(jpype.java.lang.Runtime.getRuntime().maxMemory() >> 20, flush=True)
server.stop()
os._exit(0)
"""


@pytest.mark.parametrize(("chosen", "low", "high"), [("", 650, 768), ("-Xmx1536m", 1300, 1536), ("-Xmx600m", 500, 600)])
def test_the_heap_is_bounded_unless_the_user_sets_it(tmp_path: Path, chosen: str, low: int, high: int) -> None:
    """arcadedb-embedded's 4 GiB default let a big load grow this process to 3.7 GiB; ours is 768 MiB.
    The JVM reports a little less than -Xmx (one survivor space is not counted)."""
    env = {**os.environ, "ARCADEDB_JVM_ARGS": chosen}
    result = subprocess.run(
        [sys.executable, "-c", HEAP_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert low <= int(result.stdout) <= high
