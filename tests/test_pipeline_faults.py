"""Whatever a file makes the readers raise fails that file alone: the load records why and goes on."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import pyarrow as pa
import pytest

from etl.pipeline import LoadOptions, load
from etl.sources.local import LocalSource

GOOD = "2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"


@dataclass(frozen=True)
class Raising:
    """A source whose reading raises `error`, as a reader library would on a hostile file."""

    error: BaseException
    id: str = "hostile.log"

    def digest(self) -> str:
        return "sha256:hostile"

    def open(self) -> BinaryIO:
        return cast(BinaryIO, _RaisingStream(self.error))


class _RaisingStream(io.RawIOBase):
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        raise self.error


@pytest.fixture
def good(tmp_path: Path) -> LocalSource:
    path = tmp_path / "good.log"
    path.write_text(GOOD * 3)
    return LocalSource(path)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (RecursionError("maximum recursion depth exceeded while decoding a JSON array\nfrom a unicode string"),
         "RecursionError: maximum recursion depth exceeded while decoding a JSON array"),
        (pa.ArrowNotImplementedError("Function 'match_substring_regex' has no kernel matching input types (int64)"),
         "ArrowNotImplementedError: Function 'match_substring_regex' has no kernel matching input types (int64)"),
        (pa.ArrowTypeError("Array type doesn't match type of values set: int64 vs string"),
         "ArrowTypeError: Array type doesn't match type of values set: int64 vs string"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
         "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
        (MemoryError(), "MemoryError"),
        (KeyError("srcaddr"), "KeyError: 'srcaddr'"),
    ],
    ids=["RecursionError", "ArrowNotImplementedError", "ArrowTypeError", "UnicodeDecodeError", "MemoryError", "KeyError"],
)  # fmt: skip
def test_an_error_reading_one_file_fails_that_file_and_the_rest_load(
    good: LocalSource, error: BaseException, detail: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="etl.pipeline")
    summary = load([Raising(error), good, Raising(error, "hostile-2.log")], None, LoadOptions(workers=1))
    assert [(f.source_id, f.status, f.detail) for f in summary.files] == [
        ("hostile.log", "failed", f"could not be read: {detail}"),
        (good.id, "loaded", "dry run"),
        ("hostile-2.log", "failed", f"could not be read: {detail}"),
    ]
    assert (summary.stats.records, summary.edges_written, summary.exit_code) == (3, 1, 3)
    assert "hostile.log could not be prepared" in caplog.text and "Traceback" in caplog.text


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(2)], ids=["KeyboardInterrupt", "SystemExit"])
def test_an_interrupt_is_not_a_failed_file(good: LocalSource, error: BaseException) -> None:
    with pytest.raises(type(error)):
        load([Raising(error), good], None, LoadOptions(workers=1))
