"""The state directory and the private files in it (root password, pseudonym key, server records).

The directory is made 0700: it holds the graph, its root password and the pseudonym key, and no other
user may read any of it. Files are written under a fresh name with O_CREAT|O_EXCL|O_NOFOLLOW and then
renamed over the real one (rename replaces a symbolic link at the target name, it never writes through
it), so a link planted there is never followed. Secrets are read with O_NOFOLLOW and refused when they
are links or open to other users: a key someone else can read, or swap, is not a secret.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
from pathlib import Path

from etl.errors import UsageError

logger = logging.getLogger(__name__)
_warned: set[Path] = set()


def warn_if_open(home: Path) -> None:
    """Warn once per process when an existing state directory lets other users in."""
    try:
        mode = home.stat().st_mode
    except OSError:
        return
    if mode & 0o077 and home not in _warned:
        _warned.add(home)
        logger.warning(
            "the state directory %s is open to other users (mode %o), who can read the graph and its "
            "secrets; make it private with: chmod 700 %s",
            home, stat.S_IMODE(mode), home,
        )  # fmt: skip


def state_dir(home: Path) -> Path:
    """`home`, created 0700 when missing (its parents as usual), with a warning when it is open."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    warn_if_open(home)
    return home


def _fresh(path: Path, content: str) -> Path:
    """`content` in a new 0600 file beside `path`, under a name nobody could have planted a link at."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)  # the umask could only narrow it, but say it exactly
            handle.write(content)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial


def write_private(path: Path, content: str) -> None:
    """Replace `path` by a 0600 file holding `content` (a link at `path` is replaced, not followed)."""
    partial = _fresh(path, content)
    try:
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def create_private(path: Path, content: str) -> bool:
    """Like `write_private`, but only when nothing (not even a link) is at `path`; False if something was."""
    partial = _fresh(path, content)
    try:
        os.link(partial, path)  # link() fails when the name exists, and never follows a link there
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    return True


def open_private(path: Path, flags: int) -> int:
    """A descriptor on `path` (created 0600 if `flags` say so), refusing a symbolic link at its name."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UsageError(
                f"{path} is a symbolic link, which vpcflow does not follow in its state directory; "
                f"remove it (rm {path})"
            ) from error
        raise


def read_unless_link(path: Path) -> str | None:
    """The text of a file that holds no secret, or None when it is missing, a link or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd) as handle:
        try:
            return handle.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None
        except (OSError, UnicodeDecodeError):
            return None


def read_private(path: Path, what: str) -> str:
    """The text of a secret file; `what` names it in errors. FileNotFoundError when it is missing."""
    fd = open_private(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: a FIFO planted there cannot hang us
    with os.fdopen(fd) as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"{what} {path} is not a regular file; remove it (rm {path})")
        if mode & 0o077:
            raise UsageError(
                f"{what} {path} is open to other users (mode {stat.S_IMODE(mode):o}); "
                f"if nobody else had it, make it private with: chmod 600 {path}"
            )
        return handle.read()


def tighten(home: Path) -> None:
    """Take group and other permissions off everything under `home` (not `home` itself, not links).

    The server creates files with the process's umask while it runs; done at each start and stop, this
    also brings a state directory made by an earlier version in line."""
    for folder, dirs, files in os.walk(home):
        for name in (*dirs, *files):
            path = os.path.join(folder, name)
            with contextlib.suppress(FileNotFoundError):  # a file the server removed meanwhile
                mode = os.lstat(path).st_mode
                if mode & 0o077 and not stat.S_ISLNK(mode):
                    os.chmod(path, stat.S_IMODE(mode) & 0o700)
