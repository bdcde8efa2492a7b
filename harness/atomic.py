"""Atomic writes: the one way DAWG Bench writes a file, so a reader sees the old file or the new one.

Everything is written to a temporary file beside the destination (same filesystem, so the final
`os.replace` is atomic), and the temporary file is removed if anything fails on the way.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Failures that belong to the destination (its disk, its permissions), reported as one line naming it.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is removed.

    For writers that need a file name (an external program, a library that opens the file itself).
    """
    from harness.errors import UserError

    dest = Path(path)
    if dest.is_dir():
        raise UserError(f"{dest}: is a directory; give a file path (e.g. {dest}/report.json)")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix)
    except OSError as exc:
        raise UserError(f"{dest}: cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file should honour the umask
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            raise UserError(f"{dest}: cannot write: {exc.strerror} (nothing was written)") from None
        raise


def check_destination(path: str | os.PathLike | None, option: str) -> None:
    """Fail before any work when an output path can never be written (a directory, a file as folder)."""
    from harness.errors import UserError

    if path is None:
        return
    dest = Path(path)
    if dest.is_dir():
        raise UserError(f"{option} {dest}: is a directory; give a file path (e.g. {dest}/out)")
    for parent in dest.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{option} {dest}: {parent} is a file, not a folder")
            break


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True))
