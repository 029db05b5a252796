"""The state directory keeps its secrets: a stale `db serve` record never sends the root password to
whoever holds its port, the directory and its files are the owner's only, and no symbolic link planted
in it is followed. Real processes, real sockets, the real CLI."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from etl import demo
from etl.errors import UsageError
from etl.graph.embedded import BoltEndpoint
from etl.pseudonymize import KEY_FILE, load_or_create_key
from etl.statedir import state_dir
from tests.test_faults import VPCFLOW

PASSWORD = "only-this-test-knows-this-root-password"
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef0"

# A listener that speaks just enough Bolt for a client to send its credentials: it accepts Bolt 5.0,
# whose HELLO carries them, and prints in hex everything each connection sent.
FAKE_BOLT = """
import socket, sys
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
while True:
    client, _ = server.accept()
    client.settimeout(3)
    data = b""
    try:
        data = client.recv(20)
        client.sendall(bytes([0, 0, 0, 5]))
        while chunk := client.recv(65536):
            data += chunk
    except OSError:
        pass
    client.close()
    print(data.hex(), flush=True)
"""


def _private_home(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    path.write_text(text)
    path.chmod(mode)


def _vpcflow(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The CLI on state directory `home`, in its parent, which holds a small flow log, one.log."""
    demo.write_demo(home.parent / "one.log", 20, seed=1)
    env = {**os.environ, "VPCFLOW_HOME": str(home), "NEO4J_URI": "", "VPCFLOW_RETRY_SECONDS": "3"}
    env.pop("VPCFLOW_KEY", None)
    return subprocess.run([*VPCFLOW, *args], env=env, cwd=home.parent, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A live process of ours that holds no port."""
    process = subprocess.Popen(["sleep", "300"])
    yield process.pid
    process.kill()
    process.wait()


def _dead_pid() -> int:
    """The pid of a process that has exited, as a `db serve` killed by SIGKILL leaves in its record."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


HOLDERS = ["a killed db serve", "another process of ours", "the listener, another user", "none (an older record)"]


@pytest.mark.parametrize("holder", HOLDERS)
def test_a_served_record_whose_process_does_not_hold_the_port_gets_no_password(
    holder: str, sleeper: int, tmp_path: Path
) -> None:
    other_user = holder == "the listener, another user"
    # Another user cannot run this venv's interpreter (it may live under root's home): the system one.
    python = "/usr/bin/python3" if other_user else sys.executable
    if other_user and (os.getuid() != 0 or not os.access(python, os.X_OK)):
        pytest.skip("a listener of another user needs root and /usr/bin/python3")
    home = _private_home(tmp_path / "state")
    _write(home / "root-password", PASSWORD)
    listener = subprocess.Popen(
        [python, "-c", FAKE_BOLT], stdout=subprocess.PIPE, text=True, cwd="/", user=65534 if other_user else None
    )  # fmt: skip
    try:
        assert listener.stdout is not None
        port = int(listener.stdout.readline())
        pid = {"a killed db serve": _dead_pid(), "another process of ours": sleeper}.get(holder, listener.pid)
        endpoint = BoltEndpoint(f"bolt://127.0.0.1:{port}", "root", PASSWORD, "vpcflow")
        record = asdict(endpoint) | ({} if holder.startswith("none") else {"pid": pid})
        _write(home / "served.json", json.dumps(record))
        result = _vpcflow(home, "db", "status")
    finally:
        listener.kill()
    received = b"".join(bytes.fromhex(line) for line in listener.communicate()[0].split())
    assert PASSWORD.encode() not in received
    assert result.returncode == 0, result.stderr
    uri = re.search(r"^server: .* at (bolt://\S+)$", result.stdout, re.MULTILINE)
    assert uri and uri[1] != f"bolt://127.0.0.1:{port}"  # a server of its own
    assert not (home / "served.json").exists()  # the stale record is gone


def test_a_live_served_record_is_used(bolt: tuple[BoltEndpoint, dict[str, str]], tmp_path: Path) -> None:
    if "VPCFLOW_HOME" not in bolt[1]:
        pytest.skip("the session's server is not the embedded one")
    result = _vpcflow(Path(bolt[1]["VPCFLOW_HOME"]), "db", "status")
    assert result.returncode == 0, result.stderr
    assert f" at {bolt[0].uri}\n" in result.stdout


def _open_to_others(home: Path) -> list[str]:
    found = [home, *home.rglob("*")]
    return [f"{p.relative_to(home)} {stat.S_IMODE(p.lstat().st_mode):o}" for p in found if p.lstat().st_mode & 0o077]


def test_a_new_state_directory_and_everything_a_server_start_leaves_in_it_are_private(tmp_path: Path) -> None:
    home = tmp_path / "state"
    result = _vpcflow(home, "db", "status")
    assert result.returncode == 0, result.stderr
    assert (home / "arcadedb").is_dir() and (home / "root-password").is_file()
    assert _open_to_others(home) == []


def test_an_open_state_directory_is_named_with_the_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "open"
    home.mkdir()
    home.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        load_or_create_key(home, None)
    said = [r.getMessage() for r in caplog.records]
    with caplog.at_level(logging.WARNING):
        state_dir(home)  # said once per process
    assert (
        [r.getMessage() for r in caplog.records]
        == said
        == [
            f"the state directory {home} is open to other users (mode 755), who can read the graph and its "
            f"secrets; make it private with: chmod 700 {home}"
        ]
    )
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # named, not changed behind the user's back


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[Path]:
    """A file someone wants overwritten, or read as a secret, through a link in the state directory."""
    target = tmp_path / "target"
    _write(target, KEY + "\n")
    yield target
    assert target.read_text() == KEY + "\n"  # untouched, whatever happened


def test_links_planted_where_the_server_writes_are_replaced_not_followed(planted: Path, tmp_path: Path) -> None:
    home = _private_home(tmp_path / "state")
    names = ("logging.properties", "bolt-port", "served.json")
    for name in names:
        (home / name).symlink_to(planted)
    result = _vpcflow(home, "db", "status")
    assert result.returncode == 0, result.stderr
    assert [n for n in names if (home / n).is_symlink()] == []


COMMANDS = {"root-password": ["db", "status"], KEY_FILE: ["load", "--dry-run", "one.log"]}
REFUSED_LINKS = {**COMMANDS, "embedded.lock": ["db", "status"], "server-stderr.log": ["db", "status"]}


def _one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize("name", list(REFUSED_LINKS))
def test_a_link_planted_at_a_secret_or_a_lock_is_refused(name: str, planted: Path, tmp_path: Path) -> None:
    home = _private_home(tmp_path / "state")
    if name != "root-password":
        _write(home / "root-password", PASSWORD)
    (home / name).symlink_to(planted)
    said = _one_sentence(_vpcflow(home, *REFUSED_LINKS[name]))
    assert f"{home / name} is a symbolic link" in said and f"rm {home / name}" in said
    assert KEY not in said


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_secret_other_users_can_read_is_refused(name: str, tmp_path: Path) -> None:
    home = _private_home(tmp_path / "state")
    _write(home / name, (KEY if name == KEY_FILE else PASSWORD) + "\n", 0o644)
    said = _one_sentence(_vpcflow(home, *COMMANDS[name]))
    assert f"{home / name} is open to other users (mode 644)" in said and f"chmod 600 {home / name}" in said
    assert KEY not in said and PASSWORD not in said


def test_a_key_file_link_is_refused_in_the_library_too(planted: Path, tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).symlink_to(planted)
    with pytest.raises(UsageError, match="is a symbolic link"):
        load_or_create_key(tmp_path, None)
