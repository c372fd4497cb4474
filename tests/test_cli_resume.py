"""Interrupt and resume: a resumed run writes the same rows and ends with the same weights as
an uninterrupted one (the reference, trained once per module in this process)."""

import fcntl
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from cli_helpers import run_cli

from rlbasics.checkpoints import latest_checkpoint
from rlbasics.cli import get_agent
from rlbasics.launch import run_path, train_seeds
from rlbasics.metrics import read_metrics
from rlbasics.runs import RunDirectory
from rlbasics.training import RunInterrupted, train_run

# 8 envs x 16 steps = 128 env steps per update, 10 updates, an evaluation every 3rd update;
# never stop early, so every run has exactly 10 updates.
TINY = {"num_envs": 8, "steps_per_update": 16, "total_steps": 1280, "eval_every": 3,
        "eval_episodes": 2, "stop_return": math.nan}
TINY_ARGS = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
AGENT = get_agent("reinforce")
TIMING_COLUMNS = {"wall_time", "train_time"}  # seconds differ between runs; nothing else may


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of TINY, seed 0."""
    [run] = train_seeds(AGENT, TINY, [0], out=tmp_path_factory.mktemp("reference"), workers=1)
    assert run.status == "finished" and run.env_steps == 1280
    return run.path


def new_run(root, config=TINY):
    """A fresh run directory of ``config`` (seed 0) where the command would put it."""
    seeded = AGENT.config_cls(**config)
    return RunDirectory.create(run_path(root, AGENT.name, seeded), seeded).path


def signal_at(update, signum):
    """An on_update hook that sends this process ``signum`` after update ``update``."""
    def hook(row):
        if row["update"] == update:
            os.kill(os.getpid(), signum)
    return hook


def assert_same_run(path, expected):
    """Same CSV rows (timing columns aside) and bit-identical final weights and optimiser."""
    for name in ("episodes.csv", "updates.csv", "eval.csv"):
        got, want = read_metrics(path / name), read_metrics(expected / name)
        assert list(got) == list(want), name
        for column in set(want) - TIMING_COLUMNS:
            torch.testing.assert_close(torch.from_numpy(got[column]),
                                       torch.from_numpy(want[column]), rtol=0, atol=0,
                                       equal_nan=True, msg=f"{name}:{column}")
    got, want = latest_checkpoint(path)[1]["learner"], latest_checkpoint(expected)[1]["learner"]
    for part in ("policy", "value_function"):
        assert got.get(part, {}).keys() == want.get(part, {}).keys()
        for key, tensor in want.get(part, {}).items():
            assert torch.equal(got[part][key], tensor), f"{part}.{key}"
    assert torch.equal(got["generator"], want["generator"])
    assert str(got["optimizer"]) == str(want["optimizer"])


@pytest.mark.parametrize(("update", "signum"), [(1, signal.SIGINT), (4, signal.SIGTERM),
                                                (9, signal.SIGINT)])
def test_resume_after_a_signal_at_update_k_is_identical(tmp_path, capsys, reference, update,
                                                       signum):
    path = new_run(tmp_path)
    with pytest.raises(RunInterrupted) as stopped:
        train_run(AGENT, path, on_update=signal_at(update, signum), checkpoint_seconds=60)
    assert stopped.value.signum == signum
    meta = RunDirectory(path).read_meta()
    assert (meta["status"], meta["error"]) == ("interrupted", signal.Signals(signum).name)
    # The checkpoint is the last completed update's, and the rows stop there too.
    assert latest_checkpoint(path)[1]["learner"]["counters"]["updates"] == update
    assert read_metrics(path / "updates.csv")["update"].tolist() == list(range(1, update + 1))

    code, out, err = run_cli(["train", "--resume", str(path)], capsys)
    assert code == 0, err
    assert "finished" in out
    meta = RunDirectory(path).read_meta()
    assert meta["status"] == "finished" and len(meta["resumed"]) == 1
    assert_same_run(path, reference)


def test_resume_is_identical_with_a_learned_baseline_and_entropy(tmp_path):
    config = {**TINY, "baseline": "value", "entropy_coef": 0.01}
    [expected] = train_seeds(AGENT, config, [0], out=tmp_path / "reference", workers=1)
    path = new_run(tmp_path / "split", config)
    with pytest.raises(RunInterrupted):
        train_run(AGENT, path, on_update=signal_at(5, signal.SIGINT))
    assert train_run(AGENT, path, resume=True) == "finished"
    assert "value_function" in latest_checkpoint(path)[1]["learner"]
    assert_same_run(path, expected.path)


def test_running_the_same_command_again_continues_the_run(tmp_path, capsys, reference):
    path = new_run(tmp_path)
    with pytest.raises(RunInterrupted):
        train_run(AGENT, path, on_update=signal_at(6, signal.SIGTERM))
    code, out, err = run_cli(["train", "--out", str(tmp_path), *TINY_ARGS], capsys)
    assert code == 0, err
    assert str(path) in out
    assert_same_run(path, reference)
    assert len(RunDirectory(path).read_meta()["resumed"]) == 1


def test_a_run_killed_before_its_first_checkpoint_starts_over_without_duplicates(
        tmp_path, capsys, reference):
    path = new_run(tmp_path)
    # As if killed after writing rows but before any checkpoint: rows, no snapshot.
    for name in ("episodes.csv", "updates.csv", "eval.csv"):
        shutil.copy(reference / name, path / name)
    code, _, err = run_cli(["train", "--resume", str(path.parent)], capsys)
    assert code == 0, err
    assert_same_run(path, reference)


def test_resuming_with_a_changed_config_is_refused_naming_the_keys(tmp_path, capsys):
    path = new_run(tmp_path)
    with pytest.raises(RunInterrupted):
        train_run(AGENT, path, on_update=signal_at(2, signal.SIGINT))
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    code, _, err = run_cli(["train", "--resume", str(path), "--set", "lr=0.02", "--set",
                            "gamma=0.9", "--set", "num_envs=8"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert (f"cannot resume {path}: config differs from the saved run's config: "
            "gamma (saved 0.99, new 0.9); lr (saved 0.01, new 0.02); resume") in err
    assert {p: p.read_bytes() for p in path.rglob("*") if p.is_file()} == before
    # Restating a saved value is no change; the run continues.
    code, _, err = run_cli(["train", "--resume", str(path), "--set", "num_envs=8"], capsys)
    assert code == 0, err


def test_resuming_a_finished_run_changes_nothing(tmp_path, capsys, reference):
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    code, out, err = run_cli(["train", "--resume", str(copy)], capsys)
    assert code == 0, err
    assert "finished" in out
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_a_run_being_trained_cannot_be_trained_twice(tmp_path, capsys):
    path = new_run(tmp_path)
    with open(path / ".lock", "a") as lock:  # what a training process holds
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_cli(["train", "--resume", str(path)], capsys)
    assert code == 2
    assert f"run {path} is being trained by another process" in err


def wait_for_rows(path, rows, process, timeout=300):
    """Wait until ``path`` has ``rows`` data lines (the run is training)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_text().count("\n") > rows:
            return
        time.sleep(0.005)
    raise AssertionError(f"{path} never reached {rows} rows (exit {process.poll()})")


def assert_same_prefix(path, expected, updates):
    """The first ``updates`` updates of ``path`` wrote the rows ``expected`` wrote for them."""
    for name, column in (("episodes.csv", "env_step"), ("updates.csv", "env_steps"),
                         ("eval.csv", "env_steps")):
        got, want = read_metrics(path / name), read_metrics(expected / name)
        steps = 128 * updates  # TINY: 8 envs x 16 steps per update
        for key in set(want) - TIMING_COLUMNS:
            torch.testing.assert_close(
                torch.from_numpy(got[key][got[column] <= steps]),
                torch.from_numpy(want[key][want[column] <= steps]),
                rtol=0, atol=0, equal_nan=True, msg=f"{name}:{key}")


@pytest.mark.parametrize(("signum", "seeds"), [
    (signal.SIGINT, ["0", "1"]),
    pytest.param(signal.SIGTERM, ["0"], marks=pytest.mark.slow),  # in-process tests cover it
])
def test_a_signal_to_the_command_stops_its_workers_at_an_update_boundary(
        tmp_path, reference, signum, seeds):
    """The real command in a subprocess, with one worker process per seed: the signal
    reaches the workers, which checkpoint the last completed update and stop; the command
    exits 128 + n. The budget is huge so that the signal always comes mid-run; the updates
    done match the reference's (trained here) row for row: a worker trains what this
    process trains."""
    budget = [arg if arg != "total_steps=1280" else "total_steps=10000000" for arg in TINY_ARGS]
    args = [sys.executable, "-m", "rlbasics.cli", "train", "--out", str(tmp_path),
            "--seeds", *seeds, "--workers", str(len(seeds)), *budget,
            "--checkpoint-seconds", "60"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for seed in seeds:
        wait_for_rows(next_run_file(tmp_path, seed, process), 3, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 128 + signum, err
    assert f"interrupted ({signal.Signals(signum).name}): continue with `rlbasics train " \
           "--resume" in err
    statuses = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert statuses == dict.fromkeys(seeds, "interrupted")
    for seed in seeds:
        path = next(tmp_path.glob(f"*/seed-{seed}"))
        meta = RunDirectory(path).read_meta()
        assert (meta["status"], meta["error"]) == ("interrupted", signal.Signals(signum).name)
        updates = read_metrics(path / "updates.csv")["update"]
        counters = latest_checkpoint(path)[1]["learner"]["counters"]
        assert counters["updates"] == updates[-1] >= 3  # the last completed update
        if seed == "0":
            assert_same_prefix(path, reference, min(counters["updates"], 10))


def next_run_file(root, seed, process, timeout=300):
    """The updates.csv path of seed ``seed`` under ``root``, once its folder exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        found = list(root.glob(f"*/seed-{seed}"))
        if found:
            return found[0] / "updates.csv"
        time.sleep(0.005)
    raise AssertionError(f"no run directory for seed {seed} (exit {process.poll()})")
