"""SIGINT and SIGTERM as a stop request: the first sets it, a second ends the process, the old handlers come back."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from etl.stopping import stop_signals


@pytest.mark.parametrize(("signum", "name", "code"), [(signal.SIGTERM, "SIGTERM", 143), (signal.SIGINT, "SIGINT", 130)])
def test_a_signal_asks_to_stop_and_the_handlers_before_come_back(signum: int, name: str, code: int) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with stop_signals() as stop:
        assert stop.reason() is None and stop.exit_code is None
        signal.raise_signal(signum)  # its handler runs before raise_signal returns
        assert stop.reason() == f"stopped by {name}" and stop.exit_code == code
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_ends_the_process_at_once_by_that_signal(signum: int) -> None:
    code = (
        "import signal\nfrom etl.stopping import stop_signals\nwith stop_signals() as stop:\n"
        f"    signal.raise_signal({int(signum)})\n    print(stop.reason(), flush=True)\n"
        f"    signal.raise_signal({int(signum)})\n    print('still running')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == -signum
    assert result.stdout == f"stopped by {signal.Signals(signum).name}\n"
