"""The session-wide live Bolt server (DESIGN.md): NEO4J_TEST_URI, else a Neo4j container when a
Docker engine answers, else the embedded ArcadeDB served from a temporary state directory."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest-xdist's workers start with COLUMNS=80, and a Rich console fixes its width from COLUMNS when it
# is created (the CLI's, at import): the tests that set a width per invocation would get 80.
os.environ.pop("COLUMNS", None)

from etl.graph.embedded import BoltEndpoint, embedded_endpoint
from etl.graph.store import GraphStore, connect

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "samples"


def _docker_answers() -> bool:
    try:
        import docker  # testcontainers brings it

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure to reach an engine means "no Docker here"
        return False
    return True


@pytest.fixture(scope="session")
def bolt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoltEndpoint, dict[str, str]]]:
    """The endpoint, and the environment that points the `vpcflow` CLI at it."""
    if uri := os.environ.get("NEO4J_TEST_URI"):
        endpoint = BoltEndpoint(
            uri,
            os.environ.get("NEO4J_TEST_USER", "neo4j"),
            os.environ.get("NEO4J_TEST_PASSWORD", ""),
            os.environ.get("NEO4J_TEST_DATABASE"),
        )
        yield endpoint, _neo4j_env(endpoint)
    elif _docker_answers():
        from testcontainers.neo4j import Neo4jContainer

        with Neo4jContainer("neo4j:5") as container:
            endpoint = BoltEndpoint(container.get_connection_url(), "neo4j", container.password, None)
            yield endpoint, _neo4j_env(endpoint)
    else:
        home = tmp_path_factory.mktemp("served-home")
        # Served, so CLI runs in this process and subprocesses connect to it instead of starting their own.
        with embedded_endpoint(home, serve=True) as endpoint:
            yield endpoint, {"VPCFLOW_HOME": str(home), "NEO4J_URI": ""}


def _neo4j_env(endpoint: BoltEndpoint) -> dict[str, str]:
    env = {"NEO4J_URI": endpoint.uri, "NEO4J_USER": endpoint.user, "NEO4J_PASSWORD": endpoint.password}
    if endpoint.database:
        env["NEO4J_DATABASE"] = endpoint.database
    return env


@pytest.fixture(scope="session")
def session_store(bolt: tuple[BoltEndpoint, dict[str, str]]) -> Iterator[GraphStore]:
    with connect(bolt[0]) as store:
        yield store


@pytest.fixture
def store(session_store: GraphStore) -> GraphStore:
    """The live store, emptied for this test."""
    session_store.reset()
    return session_store


@pytest.fixture
def cli_env(
    bolt: tuple[BoltEndpoint, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """Environment for CLI runs against the live server; the working directory is a fresh one (no .env)."""
    monkeypatch.chdir(tmp_path)
    for name, value in bolt[1].items():
        monkeypatch.setenv(name, value)
    return {**os.environ}


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without the interpreter's teardown once the embedded server has stopped and every report is
    written: tearing down the in-process JVM (JPype) at interpreter exit has crashed the process after
    all tests passed, turning a green run into a segmentation fault."""
    if _exit_status and "jpype" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])
