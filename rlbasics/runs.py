"""Run directories: atomic files, the run's record (config, meta, status) and its metrics CSVs.

One folder per (config, seed) (``rlbasics train`` names it, see `rlbasics.launch.run_path`)::

    runs/CartPole-v1-reinforce-1a2b3c4d/seed-0/
        config.toml      the resolved config (rlbasics.configs), written once
        meta.json        versions, git commit, command line, start/end time, status
        episodes.csv     one row per finished episode (EPISODE_FIELDS)
        updates.csv      one row per update (loss, entropy, grad norm, ...)
        eval.csv         one row per evaluation
        checkpoints/     rlbasics.checkpoints
        tensorboard/     the same rows as TensorBoard events, if tensorboard is installed

Crash safety is by construction. Whole files (config, meta, checkpoints, a rewritten CSV)
are written by :func:`atomic_write_bytes`: a temporary file in the same directory, flushed
and fsync'ed, then ``os.replace``'d over the target — a reader sees the old file or the new
one, never half of one. A new run directory is assembled under a hidden name and renamed
into place, so it is never seen half-made. The CSVs are appended row by row and stay
readable after a crash (:mod:`rlbasics.metrics`); checkpoints are :mod:`rlbasics.checkpoints`.
A run that crashes keeps ``status = "running"`` in its meta; one that fails or is
interrupted records that (see :meth:`RunDirectory.recording`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, Literal

from rlbasics.configs import config_to_toml, read_config

__all__ = [
    "EPISODE_FIELDS",
    "RUN_STATUSES",
    "RunDirectory",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_text",
    "write_config",
]

#: Columns of ``episodes.csv``: total env steps when the episode finished, its zero-based
#: index, its undiscounted return, its length in steps, and seconds of training so far
#: (carried over across resumes, so that every column is non-decreasing down the file).
EPISODE_FIELDS = ("env_step", "episode", "return", "length", "wall_time")
RUN_STATUSES = ("running", "finished", "interrupted", "failed")
Status = Literal["running", "finished", "interrupted", "failed"]


# ---------------------------------------------------------------------------- atomic files


def _hidden_sibling(path: Path, label: str) -> Path:
    """A fresh hidden name beside ``path``: same directory, so a rename onto ``path`` is atomic."""
    return path.parent / f".{path.name}.{label}-{secrets.token_hex(4)}"


def _fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _atomic_open(path: str | Path, mode: Literal["wb", "w"]) -> Iterator[IO[Any]]:
    """A file to write that replaces ``path`` all at once when the block ends without error.

    Write to a temporary file beside ``path`` (same filesystem, so the rename is atomic),
    flush and fsync it, ``os.replace`` it over ``path``, fsync the directory. If anything
    fails before the replace, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    temporary = _hidden_sibling(path, "tmp")
    # O_EXCL: never write into someone else's file; 0o666 less the umask, as open() would.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace ``path``'s content by ``data`` atomically: old file or new, never a mix.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write_bytes(target, b"hello").read_bytes()
    b'hello'
    """
    with _atomic_open(path, "wb") as file:
        file.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Replace ``path``'s content by ``text`` (UTF-8) atomically."""
    with _atomic_open(path, "w") as file:
        file.write(text)
    return Path(path)


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj, path)``, atomically: a crash mid-save leaves the old file intact."""
    import torch

    with _atomic_open(path, "wb") as file:
        torch.save(obj, file)
    return Path(path)


def write_config(path: str | Path, config: Any) -> Path:
    """Write ``config`` (dataclass or mapping) to ``path`` as TOML, atomically."""
    return atomic_write_text(path, config_to_toml(config))


# ---------------------------------------------------------------------------- run directory


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("rlbasics", "torch", "gymnasium", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _git(*args: str) -> str | None:
    """Output of ``git args`` in the working directory, or None (no git, no repo, no commit)."""
    try:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


class RunDirectory:
    """One run's folder: paths to its files, its config, and its status in ``meta.json``.

    ``RunDirectory(path)`` names an existing run; :meth:`create` makes a new one.

    >>> import tempfile
    >>> run = RunDirectory.create(Path(tempfile.mkdtemp()) / "seed0", {"lr": 0.01, "seed": 0})
    >>> run.read_config()
    {'lr': 0.01, 'seed': 0}
    >>> run.read_meta()["status"]
    'running'
    >>> with run.recording():
    ...     pass  # train here; an exception marks the run failed, Ctrl-C interrupted
    >>> run.read_meta()["status"]
    'finished'
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    config_path = property(lambda self: self.path / "config.toml")
    meta_path = property(lambda self: self.path / "meta.json")
    episodes_path = property(lambda self: self.path / "episodes.csv")
    updates_path = property(lambda self: self.path / "updates.csv")
    eval_path = property(lambda self: self.path / "eval.csv")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")

    @classmethod
    def create(
        cls, path: str | Path, config: Any, *, command: Sequence[str] | None = None
    ) -> RunDirectory:
        """Make a new run directory holding ``config.toml``, ``meta.json`` and ``checkpoints/``.

        The folder is assembled under a hidden temporary name in the same parent and renamed
        into place, so ``path`` appears complete or not at all. ``command`` is the command
        line recorded in the meta (default ``sys.argv``); the git commit recorded is the
        working directory's (None outside a repository). Refuses an existing ``path``.
        """
        path = Path(path)
        if path.exists():
            raise ValueError(f"run directory {path} already exists: resume it or choose another")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ValueError(f"cannot create {path}: a parent is a file, not a folder") from None
        config_text = config_to_toml(config)  # a bad config fails before anything is made
        staging = _hidden_sibling(path, "creating")
        staging.mkdir()
        try:
            run = cls(staging)
            atomic_write_text(run.config_path, config_text)
            run._write_meta({
                "status": "running",
                "error": None,
                "command": list(sys.argv if command is None else command),
                "start_time": _now(),
                "end_time": None,
                "resumed": [],
                "versions": _package_versions(),
                "git_commit": _git("rev-parse", "HEAD"),
                "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
            })
            run.checkpoints_dir.mkdir()
            os.rename(staging, path)  # atomic; fails if `path` appeared meanwhile
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_directory(path.parent)
        return cls(path)

    def read_config(self, cls: type | None = None) -> Any:
        """The run's config: a dict, or with ``cls`` the validated dataclass."""
        return read_config(self.config_path, cls)

    def read_meta(self) -> dict[str, Any]:
        """``meta.json`` as a dict; a missing or corrupt file raises ValueError naming it."""
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{self.path} is not a run directory: no meta.json") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{self.meta_path} is not valid JSON: {error}") from None
        if not isinstance(meta, dict) or meta.get("status") not in RUN_STATUSES:
            raise ValueError(f"{self.meta_path} has no valid status (one of {RUN_STATUSES})")
        return meta

    def _write_meta(self, meta: Mapping[str, Any]) -> None:
        atomic_write_text(self.meta_path, json.dumps(meta, indent=2) + "\n")

    def set_status(self, status: Status, error: str | None = None) -> None:
        """Record ``status`` (and the end time unless running) in ``meta.json``.

        ``error`` is the failure message: required for ``"failed"``, allowed for
        ``"interrupted"`` (e.g. which signal), refused otherwise.
        """
        if status not in RUN_STATUSES:
            raise ValueError(f"status must be one of {RUN_STATUSES}, got {status!r}")
        if status == "failed" and error is None:
            raise ValueError("status 'failed' needs an error message")
        if status in ("running", "finished") and error is not None:
            raise ValueError(f"status {status!r} takes no error message, got {error!r}")
        meta = self.read_meta()
        meta.update(status=status, error=error, end_time=None if status == "running" else _now())
        self._write_meta(meta)

    def mark_resumed(self, command: Sequence[str] | None = None) -> None:
        """Set the status back to running and record when and how the run was resumed."""
        meta = self.read_meta()
        command = list(sys.argv if command is None else command)
        meta["resumed"].append({"time": _now(), "command": command})
        meta.update(status="running", error=None, end_time=None)
        self._write_meta(meta)

    @contextlib.contextmanager
    def recording(self) -> Iterator[RunDirectory]:
        """Mark the run finished, interrupted (Ctrl-C, SystemExit) or failed as the block ends.

        The exception, if any, propagates: this records what happened, it handles nothing.
        """
        try:
            yield self
        except (KeyboardInterrupt, SystemExit) as stop:
            self.set_status("interrupted", error=type(stop).__name__)
            raise
        except BaseException as error:
            self.set_status("failed", error=f"{type(error).__name__}: {error}")
            raise
        self.set_status("finished")
