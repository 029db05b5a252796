"""The embedded server starts even when the HTTP port it was given is taken by the time it binds, as
when two servers start at once (a process of its own: one embedded server per JVM here)."""

import subprocess
import sys
from pathlib import Path

from etl.graph.embedded import _HTTP_PORTS

SCRIPT = """
import os, socket, sys, urllib.request
from pathlib import Path
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
