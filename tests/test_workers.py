"""The worker pool of a load: stopping it must end its processes, whatever they are doing."""

import os
import signal
import time
from pathlib import Path

from etl.workers import preparers, stop_now


def test_a_stopped_pool_ends_workers_that_would_never_finish() -> None:
    """Workers busy for an hour (as one blocked writing a result nobody reads) end at once, and so does
    the pool's manager thread, which the interpreter joins at exit: a loader that stops can exit."""
    pool = preparers(workers=2, files=2)
    futures = [pool.submit(time.sleep, 3600) for _ in range(2)]
    pids = list(pool._processes)  # type: ignore[attr-defined]  # a spawn pool starts one per task, up to 2
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    assert len(pids) == 2 and manager is not None
    stop_now(pool)
    manager.join(timeout=30)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    for pid in alive:  # leave nothing behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not manager.is_alive() and not alive
    assert all(future.done() for future in futures)
