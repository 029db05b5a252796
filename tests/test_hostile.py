"""Every command and every README example, run as a user would against a world of hostile inputs:
names with terminal escapes and Rich markup (as EC2 Name tags bring them), prototype names, CSV
formulas, a JSON bomb, a gzip of blank lines, a symlink loop, Parquet of the wrong types, a query that
deletes, numbers past int64, outputs into missing folders.

Each run must exit with a documented status, print no traceback, no secret and no raw control
character, and write nothing outside the state directory and the outputs it was told to write."""

from __future__ import annotations

import gzip
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer

from etl.cli import app
from etl.graph.embedded import BoltEndpoint
from etl.pseudonymize import KEY_FILE
from tests.test_s3 import Moto, moto  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration
README = Path(__file__).parents[1] / "README.md"
VPCFLOW = [sys.executable, "-m", "etl"]
DOCUMENTED_EXITS = {0, 1, 2, 3, 4}  # README, "Exit codes"; 130/143 are for signals, sent by no run here
AWS_SECRET = "hostile-world-aws-secret-key"
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
ESCAPES = "\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
NAMES = {
    "10.0.3.30": ESCAPES + "database",
    "10.0.2.20": "[link=https://evil.example]app[/link]",
    "10.0.1.10": "constructor",
    "10.0.1.11": "</script><script>alert(1)</script>",
    "10.0.1.12": '=HYPERLINK("https://evil.example","x")',
    "10.0.1.13": "@SUM(1+1)",
}


def _records(pairs: list[tuple[str, str]], start: int = 1_767_225_600) -> str:
    lines = [HEADER]
    for i, (src, dst) in enumerate(pairs):
        lines.append(f"2 123456789012 eni-0a1b {src} {dst} {40000 + i} 443 6 3 300 {start} {start + 60} ACCEPT OK")
    return "\n".join(lines) + "\n"


def _parquet_of_wrong_types(path: Path) -> None:
    """AWS writes int64 and string columns; this file has unsigned, float and integer-address ones."""
    table = pa.table(
        {
            "version": pa.array([2, 2], pa.uint8()),
            "srcaddr": pa.array([167772161, 167772162], pa.int64()),
            "dstaddr": pa.array(["10.0.3.30", "10.0.3.30"]),
            "srcport": pa.array([40000, 40001], pa.uint64()),
            "dstport": pa.array([443.0, 443.5], pa.float64()),
            "protocol": pa.array([6, 6], pa.uint32()),
            "packets": pa.array([1, 2], pa.uint64()),
            "bytes": pa.array([10.0, 20.0], pa.float32()),
            "start": pa.array([1_767_225_600] * 2, pa.uint64()),
            "end": pa.array([1_767_225_660] * 2, pa.uint64()),
            "action": pa.array(["ACCEPT", "ACCEPT"]),
            "log_status": pa.array(["OK", "OK"]),
        }
    )
    pq.write_table(table, path)


def build_world(root: Path) -> None:
    """The working directory every run starts in: the files the README's examples name, made hostile."""
    logs = root / "logs"
    logs.mkdir(parents=True)
    named = list(NAMES)
    (logs / "good.log").write_text(_records([(a, b) for a in named for b in named if a != b]))
    (logs / "more.log.gz").write_bytes(gzip.compress(_records([("203.0.113.9", "10.0.3.30")] * 5).encode()))
    (logs / f"{ESCAPES.replace('/', '')}[bold]name[reverse].log").write_text(_records([("198.51.100.7", "10.0.2.20")]))
    (logs / "deep.json").write_text("[" * 200_000)
    (logs / "blank.log.gz").write_bytes(gzip.compress(b"\n" * 2_000_000))
    _parquet_of_wrong_types(logs / "wrong-types.parquet")
    (logs / "loop").symlink_to("..")  # logs/loop/loop/... for ever, to a walker that follows links
    (root / "custom.log").write_text("2 vpc-0abc 10.0.1.10 10.0.3.30 40000 5432 6 ACCEPT\n")
    entries = [
        f'- {{ip: {ip}, name: "{_yaml_escaped(name)}", group: "{_yaml_escaped(name)}"}}' for ip, name in NAMES.items()
    ]
    (root / "known-ips.yaml").write_text("\n".join(entries) + "\n")
    # Policies naming the hostile names, as a policy's author would copy them from a view.
    hostile = [_yaml_escaped(name) for name in NAMES.values()]
    (root / "policy.yaml").write_text(
        f'guard: [any]\nallow:\n  - {{from: "{hostile[3]}", to: "{hostile[0]}", ports: [443]}}\n'
        f'expect:\n  - {{from: "{hostile[1]}", to: "{hostile[4]}"}}\n'
    )
    (root / "rules.yaml").write_text(
        f'rules:\n  - {{name: "{hostile[0]}", severity: high, kind: new-edge, to: "{hostile[4]}"}}\n'
        f'  - {{name: "{hostile[2]}", severity: low, kind: port-outside, ports: [443], from: any}}\n'
    )
    (root / "names-unknown.yaml").write_text(f'guard: ["{hostile[0]}[/bold]"]\n')
    (root / "my-question.cypher").write_text("// title: Innocent looking\nMATCH (n) DETACH DELETE n\n")
    (root / "everything.cypher").write_text("// title: Everything\nMATCH (n) RETURN n\n")


def _yaml_escaped(text: str) -> str:
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or c in '"\\' else c for c in text)


@dataclass(frozen=True)
class Run:
    args: list[str]
    stdout_to: str | None = None  # the README's `> file`

    def outputs(self) -> set[str]:
        """What the run was told to write: `-o`/`--output` targets and the redirected stdout."""
        named = {self.stdout_to} if self.stdout_to else set()
        for flag, value in zip(self.args, self.args[1:], strict=False):
            if flag in ("-o", "--output") and not value.startswith(("jsonl", "csv")):
                named.add(value.rstrip("/"))
        return named


def readme_examples() -> list[Run]:
    """Each `vpcflow ...` line of the README's shell blocks, its comment, pipe and `--open` dropped."""
    runs = []
    in_block = False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            in_block = line.strip() == "```sh"
            continue
        if not (in_block and line.startswith("vpcflow ")):
            continue
        tokens = shlex.split(line, comments=True)
        if "|" in tokens:
            tokens = tokens[: tokens.index("|")]
        stdout_to = None
        if ">" in tokens:
            stdout_to = tokens[tokens.index(">") + 1]
            tokens = tokens[: tokens.index(">")]
        args = [t for t in tokens[1:] if t != "--open"]
        if "--records" in args:  # the README's millions of demo records: the hostile part is elsewhere
            at = args.index("--records") + 1
            args[at] = str(min(int(args[at]), 20_000))
        runs.append(Run(args, stdout_to))
    return runs


ATHENA_SQL = ["athena", "sql", "--table", "flowlogs.vpc", "--start", "2026-01-01", "--end", "2026-01-02"]
# Every command, with inputs that broke it once or belong to the same class. The test below checks
# that this covers every command the app has.
HOSTILE_RUNS: dict[str, list[list[str]]] = {
    "load": [
        ["load", "--pseudonymize", "none", "logs/"],
        ["load", "logs/**/*.log"],
        ["load", f"missing{ESCAPES}"],
        # moto answers as Athena, but writes no result: each slice fails, named, with its query id.
        ["load", "athena://flowlogs/vpc", "--start", "2026-01-01", "--end", "2026-01-02", "--layout", "hive"],
        ["load", f"athena://flowlogs/{ESCAPES}", "--start", "2026-01-01", "--end", "2026-01-02"],
    ],
    "parse": [["parse", "logs/"], ["parse", "--output", f"x{ESCAPES}", "logs/good.log"]],
    "demo": [["demo", "--records", "0"], ["demo", "--records", "10", "-o", "missing-folder/demo.log"]],
    "reveal": [["reveal", "10.0.3.30"], ["reveal", ESCAPES], ["reveal", "[link=https://evil.example]x[/link]"]],
    "known-ips discover": [["known-ips", "discover", "--region", "eu-west-1"]],
    "query list": [["query", "list"]],
    "query show": [["query", "show", "top-edges", "-p", "k=99999999999999999999999"], ["query", "show", ESCAPES]],
    "query run": [
        ["query", "run", "everything.cypher"],
        ["query", "run", "everything.cypher", "--format", "json"],
        ["query", "run", "everything.cypher", "--format", "csv"],
        ["query", "run", "top-edges", "-p", "k=99999999999999999999999"],
        ["query", "run", "top-edges", "-p", f"k={ESCAPES}"],
        ["query", "run", "my-question.cypher"],
        ["query", "run", "by-name", "--format", "csv"],
    ],
    "view": [
        ["view", "top-edges", "-o", "missing-folder/view.html"],
        ["view", "everything.cypher", "-o", "everything.html"],
    ],
    "check": [
        ["check", "policy.yaml"],
        ["check", "policy.yaml", "--format", "json"],
        ["check", "policy.yaml", "-o", "check.html"],
        ["check", "names-unknown.yaml"],
        ["check", f"missing{ESCAPES}.yaml"],
    ],
    "audit security-groups": [
        ["audit", "security-groups", "--region", "eu-west-1", "-o", "audit.html"],
        ["audit", "security-groups", "--from-graph"],
    ],
    "diff": [
        ["diff", "--before", "2026-01-01..2026-01-02", "--after", "2026-01-02.."],
        ["diff", "--before", "2026-01-01..2026-01-02", "--after", "2026-01-02..", "-o", "diff.html"],
        ["diff", "--before", f"{ESCAPES}..", "--after", "2026-01-02.."],
    ],
    "watch": [
        ["watch", "logs/", "--once", "--rules", "rules.yaml", "--known-ips", "known-ips.yaml"],
        ["watch", "logs/", "--once", "--rules", f"missing{ESCAPES}.yaml"],
        ["watch", "logs/", "--once", "--rules", "rules.yaml", "--interval", ESCAPES],
    ],
    "alerts": [["alerts"], ["alerts", "--format", "json"]],
    "athena sql": [
        [*ATHENA_SQL, "--layout", "hive"],
        ["athena", "sql", "--table", f"flowlogs.{ESCAPES}", "--start", "2026-01-01", "--end", "2026-01-02"],
        [*ATHENA_SQL, "--account", ESCAPES, "--columns", ESCAPES],
    ],
    "db status": [["db", "status"]],
    "db serve": [["db", "serve"]],  # the state directory is served already: one sentence, no hang
    "db reset": [["db", "reset"]],
}


def command_paths(command: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf command's path (typer vendors its own click: its groups are known by their commands)."""
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from command_paths(sub, f"{prefix} {name}".strip())
    else:
        yield prefix


@pytest.fixture(scope="module")
def world(
    bolt: tuple[BoltEndpoint, dict[str, str]],
    moto: Moto,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, str], list[str]]]:
    """The working directory, the environment (the live server, moto as every AWS endpoint), the secrets."""
    root = tmp_path_factory.mktemp("hostile-world")
    build_world(root)
    aws = tmp_path_factory.mktemp("no-aws-config")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NEO4J_", "VPCFLOW_"))}
    env |= bolt[1] | {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(aws / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    _seed_aws(moto.endpoint)
    secrets = [AWS_SECRET] + ([bolt[0].password] if bolt[0].password else [])
    yield root, env, secrets


def _seed_aws(endpoint: str) -> None:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="x", region_name="eu-west-1")
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="my-flow-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    key = "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/01/02/123456789012_vpcflowlogs_eu-west-1_fl-1_20260102T0005Z_a.log.gz"
    s3.put_object(Bucket="my-flow-logs", Key=key, Body=gzip.compress(_records([("10.0.1.10", "10.0.3.30")]).encode()))
    s3.put_object(Bucket="my-flow-logs", Key=key.replace(".log.gz", "-deep.log"), Body=b"[" * 200_000)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    # XML cannot carry ESC, so the EC2 API cannot either; C1 controls (CSI, OSC, ST) it can, and some
    # terminals act on them as on their ESC forms.
    name = "\x9b2J\x9d8;;https://evil.example\x9cclick[link=https://e.x]web[/link]"
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=tags)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "loop" not in p.relative_to(root).parts}


def _pseudonym_key(env: dict[str, str]) -> list[str]:
    key = Path(env.get("VPCFLOW_HOME", "/nonexistent")) / KEY_FILE
    return [key.read_text().strip()] if key.is_file() else []


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def run_and_check(run: Run, world: tuple[Path, dict[str, str], list[str]]) -> subprocess.CompletedProcess[str]:
    root, env, secrets = world
    secrets = secrets + _pseudonym_key(env)
    before = _tree(root)
    stdout = (root / run.stdout_to).open("w") if run.stdout_to else subprocess.PIPE
    try:
        result = subprocess.run(
            [*VPCFLOW, *run.args], cwd=root, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=180
        )
    finally:
        if run.stdout_to:
            stdout.close()  # type: ignore[union-attr]
    said = (result.stdout or "") + result.stderr
    shown = shlex.join(run.args).encode("unicode_escape").decode()
    assert result.returncode in DOCUMENTED_EXITS, f"{shown}: exit {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{shown}:\n{result.stderr}"
    assert not [s for s in secrets if s in said], f"{shown} printed a secret"
    assert not _CONTROL.search(said.replace("\t", "")), f"{shown} printed a raw control character: {said[:2000]!r}"
    written = _tree(root) - before
    allowed = run.outputs()
    strays = {p for p in written if not any(p == o or p.startswith(o + "/") for o in allowed)}
    assert not strays, f"{shown} wrote {strays}"
    return result


@pytest.mark.parametrize("run", readme_examples(), ids=lambda run: shlex.join(run.args)[:60])
def test_every_readme_example(run: Run, world: tuple[Path, dict[str, str], list[str]]) -> None:
    # `db serve` on a state directory the fixture serves already: it must say so and return.
    run_and_check(run, world)


def test_the_hostile_runs_cover_every_command() -> None:
    assert set(HOSTILE_RUNS) == set(command_paths(typer.main.get_command(app)))


@pytest.mark.parametrize(
    "args", [args for runs in HOSTILE_RUNS.values() for args in runs], ids=lambda args: shlex.join(args)[:60]
)
def test_every_command_with_hostile_input(args: list[str], world: tuple[Path, dict[str, str], list[str]]) -> None:
    run_and_check(Run(args), world)


def test_the_graph_survives_a_query_that_deletes(world: tuple[Path, dict[str, str], list[str]]) -> None:
    run_and_check(Run(["load", "--pseudonymize", "none", "logs/good.log"]), world)
    before = run_and_check(Run(["db", "status"]), world).stdout
    deleted = run_and_check(Run(["query", "run", "my-question.cypher"]), world)
    assert deleted.returncode != 0
    assert run_and_check(Run(["db", "status"]), world).stdout == before
