"""Stopping a long command cleanly: SIGINT and SIGTERM become a request that the work checks between steps.

A handler that only sets a flag, rather than Python's default KeyboardInterrupt, never cuts a Bolt
exchange or a transaction in the middle. Python runs the handler in the main thread, when that thread
next runs Python code; the kernel hands a process's signal to any thread that does not block it (the
JVM's, the driver's, the worker pool's), so a main thread that waits must wake up now and then to see
it (a lock waited on with a timeout does).

A second signal ends the process at once, by that signal's default action, as if no handler were set.
Not by an exception: one raised in the middle of the driver's socket read left its buffer in use, and
the rollback that followed failed with a BufferError and a traceback. A file's transaction is committed
whole or not at all whichever way the process ends: the server discards one left open.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """The first stop signal received, if any."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def reason(self) -> str | None:
        """Why to stop ("stopped by SIGTERM"), or None while no stop signal came."""
        return None if self.signum is None else f"stopped by {signal.Signals(self.signum).name}"

    @property
    def exit_code(self) -> int | None:
        """The shell's convention for a process ended by a signal: 128 + its number (130, 143)."""
        return None if self.signum is None else 128 + self.signum

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        self.signum = signum


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM set the request yielded, then end the process; the previous handlers come back after."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # only the main thread may set handlers; the caller's own stay in force
        return
    previous = {signum: signal.signal(signum, request.handle) for signum in STOP_SIGNALS}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
