"""Alerts POSTed to a webhook from a thread of their own, so a slow or failing endpoint never holds up a
pass. Each is retried with backoff; one that never gets through is counted, and said, once.

A webhook URL often carries its secret (Slack's and Teams' do, in the path): messages name its host only.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from etl.errors import UsageError

log = logging.getLogger(__name__)
ATTEMPTS = 4
FIRST_WAIT = 0.5  # seconds before the second attempt; doubled before each next one
TIMEOUT = 10.0
_DONE = object()


@dataclass
class Deliveries:
    delivered: int = 0
    failed: int = 0
    pending: int = 0


class Webhook:
    def __init__(self, url: str, *, attempts: int = ATTEMPTS, first_wait: float = FIRST_WAIT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError("--webhook takes an http:// or https:// URL")
        self.host = parts.hostname
        self._url = url
        self._attempts, self._first_wait = attempts, first_wait
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._counts = Deliveries()
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def send(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._counts.pending += 1
        self._queue.put(entry)

    def counts(self) -> Deliveries:
        with self._lock:
            return Deliveries(self._counts.delivered, self._counts.failed, self._counts.pending)

    def close(self, wait: float) -> Deliveries:
        """Let what is queued go out for at most `wait` seconds; what is left is reported pending."""
        self._queue.put(_DONE)
        self._thread.join(timeout=wait)
        return self.counts()

    def _run(self) -> None:
        while (entry := self._queue.get()) is not _DONE:
            delivered = self._deliver(json.dumps(entry).encode())
            with self._lock:
                self._counts.pending -= 1
                if delivered:
                    self._counts.delivered += 1
                else:
                    self._counts.failed += 1

    def _deliver(self, body: bytes) -> bool:
        wait = self._first_wait
        for attempt in range(1, self._attempts + 1):
            problem = self._post(body)
            if problem is None:
                return True
            if attempt == self._attempts or problem.startswith("refused"):
                log.warning("webhook at %s: an alert was not delivered: %s", self.host, problem)
                return False
            time.sleep(wait)
            wait *= 2
        return False

    def _post(self, body: bytes) -> str | None:
        """None when delivered; else why. A 4xx but 408 and 429 is `refused`: sending it again changes nothing."""
        request = urllib.request.Request(
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read()
            return None
        except urllib.error.HTTPError as error:
            retried = error.code >= 500 or error.code in (408, 429)
            return f"{'answered' if retried else 'refused with'} HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return f"unreachable ({getattr(error, 'reason', error)})"
