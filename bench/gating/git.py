"""Git for the gate: resolve a revision, and check it out in a temporary worktree removed on exit."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class GateError(Exception):
    """Something that stops the gate before it has a verdict; the message is one line."""


def git(repo: Path, *args: str) -> str:
    """Output of ``git args`` in ``repo``; GateError with git's own message when it fails."""
    try:
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GateError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise GateError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return result.stdout.strip()


def resolve_commit(repo: Path, rev: str) -> str:
    """The full sha of revision ``rev``; GateError naming it when it is not a commit here."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except GateError:
        raise GateError(f"--base {rev!r} is not a commit in {repo}") from None


@contextlib.contextmanager
def base_worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary folder, removed on exit however it ends."""
    folder = Path(tempfile.mkdtemp(prefix="gdbench-gate-"))
    tree = folder / "base"
    try:
        git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        # Ignore SIGINT while cleaning, so a second ^C cannot leave the worktree registered.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with contextlib.suppress(GateError):
                git(repo, "worktree", "remove", "--force", str(tree))
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(GateError):
                git(repo, "worktree", "prune")
        finally:
            signal.signal(signal.SIGINT, previous)
