"""Training survives a crash: kill -9 at random moments (resume gives the uninterrupted run),
and an env that returns NaN (the run fails naming the step, keeping a good checkpoint)."""

import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from cli_helpers import run_cli, write_faulty_env

from rlbasics.checkpoints import latest_checkpoint
from rlbasics.cli import get_agent
from rlbasics.launch import run_path, train_seeds
from rlbasics.metrics import read_metrics
from rlbasics.runs import RunDirectory
from rlbasics.training import train_run

AGENT = get_agent("reinforce")
TIMING_COLUMNS = {"wall_time", "train_time"}
# 150 updates of 8 envs x 16 steps, an evaluation every 20; a checkpoint after every update
# (--checkpoint-every 1), so that kills often land in one. A kill lands a few updates after its
# target (the sleep, the wait for a checkpoint file), so 10 kills need room to spare; 2 kills
# (the default suite's) need less: 40 updates.
UPDATES = 150


def kill_run(updates):
    return {"num_envs": 8, "steps_per_update": 16, "total_steps": 128 * updates,
            "eval_every": 20, "eval_episodes": 2, "stop_return": float("nan")}


# ---------------------------------------------------------------------------- kill -9


def start_training(run_dir, out, config, *, resume):
    args = ["--resume", str(run_dir)] if resume else [
        "--out", str(out), *[a for k, v in config.items() for a in ("--set", f"{k}={v}")]]
    return subprocess.Popen([sys.executable, "-m", "rlbasics.cli", "train", *args,
                             "--checkpoint-every", "1", "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rows(path):
    return path.read_bytes().count(b"\n") - 1 if path.exists() else 0


def kill_at_a_random_moment(process, run_dir, rng, in_checkpoint_write, kills_left, updates):
    """SIGKILL the training process at a random update (after the rows already there, and
    leaving room for the kills still to come), 0–20 ms into it, or the moment a checkpoint's
    temporary file appears (mid-write). Returns whether a temporary file was left."""
    done = rows(run_dir / "updates.csv")
    target = rng.randint(done + 1, done + max(1, (updates - 20 - done) // kills_left))
    deadline = time.monotonic() + 300
    while rows(run_dir / "updates.csv") < target:
        assert process.poll() is None and time.monotonic() < deadline, \
            process.stderr.read().decode() if process.poll() is not None else "timeout"
        time.sleep(0.001)
    if in_checkpoint_write:
        checkpoints = run_dir / "checkpoints"
        while process.poll() is None and not any(
                p.name.startswith(".") for p in checkpoints.iterdir()):
            pass
    else:
        time.sleep(rng.uniform(0.0, 0.02))
    process.kill()
    assert process.wait() == -signal.SIGKILL  # killed mid-run, not finished
    return any(p.name.startswith(".") for p in (run_dir / "checkpoints").iterdir())


def check_after_kill(run_dir):
    """Every CSV parses, the latest checkpoint loads, and the rows are consistent."""
    for name in ("episodes.csv", "updates.csv", "eval.csv"):
        if (run_dir / name).exists():
            read_metrics(run_dir / name)
    found = latest_checkpoint(run_dir)  # raises if checkpoints exist but none loads
    if found is not None:
        counters = found[1]["learner"]["counters"]
        episodes = read_metrics(run_dir / "episodes.csv")["episode"]
        # Rows are written before the checkpoint that counts them is saved.
        assert len(episodes) >= counters["episodes_done"]
        assert episodes.tolist() == list(range(len(episodes)))
        assert rows(run_dir / "updates.csv") >= counters["updates"]


def kill_and_resume(tmp_path, kills, seed, updates=UPDATES):
    """Train kill_run(updates) in a subprocess, kill -9 it ``kills`` times (resuming in between),
    finish it here, and compare with the same run trained without interruption. Returns
    how many kills left a checkpoint half-written."""
    rng = random.Random(seed)
    config = kill_run(updates)
    [reference] = train_seeds(AGENT, config, [0], out=tmp_path / "reference", workers=1)
    run_dir = run_path(tmp_path / "runs", AGENT.name, AGENT.config_cls(**config))
    in_writes = 0
    for attempt in range(kills):
        process = start_training(run_dir, tmp_path / "runs", config, resume=attempt > 0)
        in_writes += kill_at_a_random_moment(process, run_dir, rng,
                                             in_checkpoint_write=attempt % 2 == 1,
                                             kills_left=kills - attempt, updates=updates)
        check_after_kill(run_dir)
    assert train_run(AGENT, run_dir, resume=True) == "finished"
    assert not any(p.name.startswith(".") for p in (run_dir / "checkpoints").iterdir())
    assert len(RunDirectory(run_dir).read_meta()["resumed"]) == kills
    for name in ("episodes.csv", "updates.csv", "eval.csv"):
        got, want = read_metrics(run_dir / name), read_metrics(reference.path / name)
        for column in set(want) - TIMING_COLUMNS:  # no row duplicated, missing or changed
            np.testing.assert_array_equal(got[column], want[column], err_msg=name + column)
    got = latest_checkpoint(run_dir)[1]["learner"]["policy"]
    want = latest_checkpoint(reference.path)[1]["learner"]["policy"]
    assert all(torch.equal(got[key], want[key]) for key in want)
    print(f"{kills} kills, {in_writes} of them during a checkpoint write")
    return in_writes


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_run(tmp_path):
    kill_and_resume(tmp_path, kills=2, seed=1, updates=40)


@pytest.mark.slow
def test_kill_9_at_ten_random_moments_then_resume_gives_the_uninterrupted_run(tmp_path):
    # Half the kills wait for a checkpoint's temporary file; most find one and leave it.
    assert kill_and_resume(tmp_path, kills=10, seed=2) >= 1


# ---------------------------------------------------------------------------- NaN env


def test_an_env_returning_nan_fails_the_run_naming_the_step_and_keeps_a_good_checkpoint(
        tmp_path, capsys, monkeypatch):
    write_faulty_env(tmp_path, "nan_reward_env", "NanReward-v0", "nan", after=40)
    monkeypatch.syspath_prepend(str(tmp_path))
    # Each env's vector steps are env steps, plus one auto-reset step after every 5-step
    # episode: its 41st env step is its 49th vector step (8 episodes x 6, then 1), the first
    # of update 7 (8 vector steps per update), after 6 x 8 x 2 envs = 96 counted steps.
    code, out, err = run_cli(["train", "--out", str(tmp_path / "runs"), "--env",
                              "nan_reward_env:NanReward-v0", "--set", "num_envs=2", "--set",
                              "steps_per_update=8", "--set", "total_steps=160", "--set",
                              "eval_every=0", "--checkpoint-every", "1"], capsys)
    assert code == 1
    [run_dir] = (tmp_path / "runs").glob("*/seed-0")
    meta = RunDirectory(run_dir).read_meta()
    assert meta["status"] == "failed"
    assert meta["error"] == ("update 7 (after 96 env steps): ValueError: env 0 returned a "
                             "non-finite reward at step 0: nan")
    assert f"run {run_dir} failed in update 7" in err
    assert "failed" in out and "non-finite reward" in out
    state = latest_checkpoint(run_dir)[1]["learner"]
    assert state["counters"]["updates"] == 6  # the last good update
    assert all(torch.isfinite(tensor).all() for tensor in state["policy"].values())
    assert read_metrics(run_dir / "updates.csv")["update"].tolist() == [1, 2, 3, 4, 5, 6]
