"""AWS for tests: moto's server over HTTP in this process, and an environment with fake credentials and
none of the machine's own AWS configuration."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

_MACHINE = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_ATHENA", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE")  # fmt: skip


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port; its endpoint URL."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # one line per request would bury a failure's report
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)


def fake_aws(patch: pytest.MonkeyPatch, nowhere: Path, region: str) -> None:
    """Fake credentials in `region`; config files that do not exist, so no profile of the machine's applies."""
    for name in _MACHINE:
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patch.setenv("AWS_DEFAULT_REGION", region)
    patch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
