"""Atomic files and run directories: nothing is ever left half-written."""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest
import torch

from rlbasics.runs import (
    RunDirectory,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_text,
)


@dataclass(frozen=True)
class Config:
    lr: float = 0.01
    seed: int = 0
    hidden: tuple[int, ...] = (64, 64)


def _leftovers(directory):
    """Files and folders an interrupted atomic write could leave behind (hidden temporaries)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_atomic_write_replaces_the_content(tmp_path):
    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


def test_new_files_and_run_directories_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "file.txt", "x")
        run = RunDirectory.create(tmp_path / "run", Config())
    finally:
        os.umask(umask)
    # 0666 & ~0022 = 0644 and 0777 & ~0022 = 0755, as open() and mkdir() make them
    # (tempfile.mkstemp and mkdtemp would make 0600 and 0700).
    assert (tmp_path / "file.txt").stat().st_mode & 0o777 == 0o644
    assert run.path.stat().st_mode & 0o777 == 0o755
    assert run.config_path.stat().st_mode & 0o777 == 0o644


def test_a_failed_replace_leaves_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_a_save_failing_midway_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "model.pt"
    atomic_torch_save({"weights": torch.ones(3)}, target)
    # torch.save writes the big tensor, then fails to pickle the lambda: a half-written file.
    with pytest.raises(Exception, match="lambda"):
        atomic_torch_save({"weights": torch.zeros(100_000), "bad": lambda: 0}, target)
    assert torch.equal(torch.load(target, weights_only=True)["weights"], torch.ones(3))
    assert _leftovers(tmp_path) == []


def test_create_writes_config_and_meta(tmp_path):
    run = RunDirectory.create(tmp_path / "run", Config(seed=3), command=["rlbasics", "train"])
    assert run.read_config(Config) == Config(seed=3)
    meta = run.read_meta()
    assert meta["status"] == "running"
    assert meta["error"] is None and meta["end_time"] is None
    assert meta["command"] == ["rlbasics", "train"]
    assert set(meta["versions"]) == {"python", "rlbasics", "torch", "gymnasium", "numpy"}
    assert meta["versions"]["torch"].startswith(torch.__version__.split("+")[0])
    assert run.checkpoints_dir.is_dir()
    assert _leftovers(tmp_path) == []


def test_create_refuses_an_existing_directory_and_touches_nothing(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"run directory .*run already exists"):
        RunDirectory.create(tmp_path / "run", Config())
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["notes.txt"]


def test_create_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="a parent is a file, not a folder"):
        RunDirectory.create(tmp_path / "file" / "run", Config())


def test_a_crash_while_creating_leaves_no_directory(tmp_path, monkeypatch):
    def failing_rename(source, destination):
        raise OSError("interrupted")

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="interrupted"):
        RunDirectory.create(tmp_path / "run", Config())
    assert list(tmp_path.iterdir()) == []


def test_a_config_that_is_no_config_creates_nothing(tmp_path):
    with pytest.raises(TypeError, match="config must be a dataclass instance or a mapping"):
        RunDirectory.create(tmp_path / "run", 0.01)
    assert list(tmp_path.iterdir()) == []


def test_recording_marks_the_outcome_and_lets_the_exception_through(tmp_path):
    finished = RunDirectory.create(tmp_path / "finished", Config())
    with finished.recording():
        pass
    assert finished.read_meta()["status"] == "finished"
    assert finished.read_meta()["end_time"] is not None

    failed = RunDirectory.create(tmp_path / "failed", Config())
    with pytest.raises(FloatingPointError), failed.recording():
        raise FloatingPointError("NaN reward at step 1234")
    meta = failed.read_meta()
    assert meta["status"] == "failed"
    assert meta["error"] == "FloatingPointError: NaN reward at step 1234"

    interrupted = RunDirectory.create(tmp_path / "interrupted", Config())
    with pytest.raises(KeyboardInterrupt), interrupted.recording():
        raise KeyboardInterrupt
    assert interrupted.read_meta()["status"] == "interrupted"


def test_mark_resumed_records_the_resume(tmp_path):
    run = RunDirectory.create(tmp_path / "run", Config())
    run.set_status("interrupted", error="SIGTERM")
    run.mark_resumed(command=["rlbasics", "train", "--resume", "run"])
    meta = run.read_meta()
    assert (meta["status"], meta["error"], meta["end_time"]) == ("running", None, None)
    assert meta["resumed"][0]["command"] == ["rlbasics", "train", "--resume", "run"]


@pytest.mark.parametrize(
    ("status", "error", "match"),
    [
        ("done", None, r"status must be one of \('running', 'finished', 'interrupted', 'failed'\)"),
        ("failed", None, "status 'failed' needs an error message"),
        ("finished", "oops", "status 'finished' takes no error message, got 'oops'"),
    ],
)
def test_set_status_rejects_bad_input(tmp_path, status, error, match):
    run = RunDirectory.create(tmp_path / "run", Config())
    with pytest.raises(ValueError, match=match):
        run.set_status(status, error)
    assert run.read_meta()["status"] == "running"


def test_read_meta_of_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(ValueError, match=r"is not a run directory: no meta\.json"):
        RunDirectory(tmp_path).read_meta()
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"meta.json is not valid JSON"):
        RunDirectory(tmp_path).read_meta()
    (tmp_path / "meta.json").write_text(json.dumps({"status": "exploded"}))
    with pytest.raises(ValueError, match=r"meta\.json has no valid status"):
        RunDirectory(tmp_path).read_meta()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_meta_records_the_git_commit_or_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert RunDirectory.create(tmp_path / "no-repo", Config()).read_meta()["git_commit"] is None

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "code.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "code.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    monkeypatch.chdir(repo)
    meta = RunDirectory.create(tmp_path / "clean", Config()).read_meta()
    assert re.fullmatch("[0-9a-f]{40}", meta["git_commit"]) and meta["git_commit"] == head
    assert meta["git_dirty"] is False
    (repo / "code.py").write_text("x = 2\n")
    assert RunDirectory.create(tmp_path / "dirty", Config()).read_meta()["git_dirty"] is True


def test_a_config_value_toml_cannot_hold_creates_nothing(tmp_path):
    with pytest.raises(ValueError, match="config cannot be written as TOML"):
        RunDirectory.create(tmp_path / "run", {"policy": object()})
    assert list(tmp_path.iterdir()) == []
