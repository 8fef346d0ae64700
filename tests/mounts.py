"""Real file systems for the tests that need one: a tmpfs mounted for the test (the suite runs as
root, as CI does)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def tmpfs(where: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``where`` for the block."""
    where.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def fill(folder: Path) -> None:
    """Write into ``folder`` until its file system has no room left."""
    # Closing the file flushes what is left and fails too: the whole block ends in ENOSPC.
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as stream:
        while True:
            stream.write(b"\0" * 65536)
