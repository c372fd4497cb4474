"""Run directories survive anything: kill -9 at random moments, hostile or broken files, an env
that returns NaN, and plots of runs that are empty, half-written or still being written."""

import pickle
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbasics.checkpoints import latest_checkpoint, load_checkpoint
from rlbasics.cli import get_agent, main
from rlbasics.launch import run_path, train_seeds
from rlbasics.metrics import read_metrics
from rlbasics.runs import RunDirectory
from rlbasics.training import train_run

AGENT = get_agent("reinforce")
TIMING_COLUMNS = {"wall_time", "train_time"}
# 150 updates of 8 envs x 16 steps, an evaluation every 20; a checkpoint after every update
# (--checkpoint-every 1), so that kills often land in one. A kill lands a few updates after its
# target (the sleep, the wait for a checkpoint file), so 10 kills need room to spare.
UPDATES = 150
KILL_RUN = {"num_envs": 8, "steps_per_update": 16, "total_steps": 128 * UPDATES,
            "eval_every": 20, "eval_episodes": 2, "stop_return": float("nan")}
TINY = {"num_envs": 8, "steps_per_update": 16, "total_steps": 640, "eval_every": 0}


def run_cli(args, capsys):
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(path):
    return {p: p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def tiny_run(tmp_path):
    """A finished tiny run (5 updates, 2 checkpoints kept)."""
    [run] = train_seeds(AGENT, TINY, [0], out=tmp_path / "runs", workers=1,
                        checkpoint_every=1)
    return run.path


# ---------------------------------------------------------------------------- kill -9


def start_training(run_dir, out, *, resume):
    args = ["--resume", str(run_dir)] if resume else [
        "--out", str(out), *[a for k, v in KILL_RUN.items() for a in ("--set", f"{k}={v}")]]
    return subprocess.Popen([sys.executable, "-m", "rlbasics.cli", "train", *args,
                             "--checkpoint-every", "1", "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rows(path):
    return path.read_bytes().count(b"\n") - 1 if path.exists() else 0


def kill_at_a_random_moment(process, run_dir, rng, in_checkpoint_write, kills_left):
    """SIGKILL the training process at a random update (after the rows already there, and
    leaving room for the kills still to come), 0–20 ms into it, or the moment a checkpoint's
    temporary file appears (mid-write). Returns whether a temporary file was left."""
    done = rows(run_dir / "updates.csv")
    target = rng.randint(done + 1, done + max(1, (UPDATES - 20 - done) // kills_left))
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


def kill_and_resume(tmp_path, kills, seed):
    """Train KILL_RUN in a subprocess, kill -9 it ``kills`` times (resuming in between),
    finish it here, and compare with the same run trained without interruption. Returns
    how many kills left a checkpoint half-written."""
    rng = random.Random(seed)
    [reference] = train_seeds(AGENT, KILL_RUN, [0], out=tmp_path / "reference", workers=1)
    run_dir = run_path(tmp_path / "runs", AGENT.name, AGENT.config_cls(**KILL_RUN))
    in_writes = 0
    for attempt in range(kills):
        process = start_training(run_dir, tmp_path / "runs", resume=attempt > 0)
        in_writes += kill_at_a_random_moment(process, run_dir, rng,
                                             in_checkpoint_write=attempt % 2 == 1,
                                             kills_left=kills - attempt)
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
    kill_and_resume(tmp_path, kills=2, seed=1)


@pytest.mark.slow
def test_kill_9_at_ten_random_moments_then_resume_gives_the_uninterrupted_run(tmp_path):
    # Half the kills wait for a checkpoint's temporary file; most find one and leave it.
    assert kill_and_resume(tmp_path, kills=10, seed=2) >= 1


# ---------------------------------------------------------------------------- hostile files


class Exploit:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def plant(run_dir, number, marker, kind):
    path = run_dir / "checkpoints" / f"checkpoint-{number:06d}.pt"
    if kind == "zip":  # torch.save's format, wrapping the payload as a checkpoint would
        torch.save({"format": "rlbasics-checkpoint", "state": Exploit(marker)}, path)
    else:  # a bare pickle
        path.write_bytes(pickle.dumps(Exploit(marker), protocol=2))
    return path


@pytest.mark.parametrize("kind", ["zip", "raw"])
def test_a_malicious_checkpoint_is_refused_by_every_loading_path(tmp_path, capsys, tiny_run,
                                                                 kind):
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Exploit(tmp_path / "live")))  # the payload is live:
    assert (tmp_path / "live").exists()  # plain unpickling runs it
    for old in (tiny_run / "checkpoints").iterdir():
        old.unlink()
    plant(tiny_run, 9, marker, kind)
    RunDirectory(tiny_run).set_status("interrupted", error="SIGINT")
    before = snapshot(tiny_run)
    for args in (["train", "--resume", str(tiny_run)], ["eval", str(tiny_run)]):
        code, _, err = run_cli(args, capsys)
        assert code == 2
        assert "was refused: it holds objects other than tensors" in err
        assert "Unsupported global: GLOBAL exec" in err
        assert snapshot(tiny_run) == before
    code, _, err = run_cli(["plot", str(tiny_run), "--out", str(tmp_path / "p.png")], capsys)
    assert code == 0, err  # plotting reads the CSVs only
    assert not marker.exists()


def test_a_malicious_newest_checkpoint_is_skipped_for_the_previous_one(tmp_path, capsys,
                                                                       tiny_run):
    marker = tmp_path / "marker"
    plant(tiny_run, 99, marker, "zip")
    code, out, err = run_cli(["eval", str(tiny_run), "--episodes", "2"], capsys)
    assert code == 0, err
    assert "warning: skipping checkpoint" in err and "was refused" in err
    assert out.splitlines()[2].split()[1:3] == ["5", "640"]  # the good checkpoint, update 5
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_broken_checkpoint_is_a_clean_error(tmp_path, capsys, tiny_run, damage):
    for path in sorted((tiny_run / "checkpoints").iterdir()):
        good = path.read_bytes()
        path.write_bytes({"truncate": good[: len(good) // 2], "garbage": b"\x00garbage" * 50,
                          "empty": b""}[damage])
    RunDirectory(tiny_run).set_status("interrupted", error="SIGINT")
    before = snapshot(tiny_run)
    for args in (["train", "--resume", str(tiny_run)], ["eval", str(tiny_run)]):
        code, _, err = run_cli(args, capsys)
        assert code == 2
        lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
        assert len(lines) == 1 and "no checkpoint of the run loads" in lines[0]
        assert "cannot be read (truncated or not a checkpoint)" in lines[0]
        assert snapshot(tiny_run) == before


@pytest.mark.parametrize(("content", "expected"), [
    (b"lr = = 1\n", "config.toml is not valid TOML: Invalid value (at line 1, column 6)"),
    (b"\xff\xfe\x00", "config.toml is not valid TOML: 'utf-8' codec can't decode"),
    (b"lr = 'fast'\n", "config.toml: config key 'lr' must be float, got 'fast'"),
    # Empty: every field at its default, which is not the config the checkpoint was saved
    # with (num_envs 8, not 64): refused on the checkpoint's copy of the config.
    (b"", "config differs from the saved run's config: eval_every (saved 0, new 1); "
          "num_envs (saved 8, new 64)"),
], ids=["not-toml", "not-utf8", "ill-typed", "empty"])
def test_a_broken_config_file_is_a_clean_error(tmp_path, capsys, tiny_run, content, expected):
    (tiny_run / "config.toml").write_bytes(content)
    RunDirectory(tiny_run).set_status("interrupted", error="SIGINT")
    before = snapshot(tiny_run)
    for args in (["train", "--resume", str(tiny_run)], ["eval", str(tiny_run)]):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and err.count("\n") == 1, err
        assert expected in err
        assert snapshot(tiny_run) == before


class ResizableEnv(gym.Env):
    """Three-step episodes with ``size`` observations: the test changes ``size`` to make the
    same config (same env id) describe an env with other spaces."""

    size = 4
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (self.size,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(self.size, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(self.size, np.float32), 1.0, self.t == 3, False, {}


gym.register("Resizable-cli-test-v0", entry_point=ResizableEnv)


def test_a_checkpoint_for_other_spaces_fails_before_any_weight_is_copied(tmp_path, capsys,
                                                                         monkeypatch):
    code, _, err = run_cli(["train", "--out", str(tmp_path), "--env", "Resizable-cli-test-v0",
                            "--set", "num_envs=2", "--set", "steps_per_update=4", "--set",
                            "total_steps=16", "--set", "eval_every=0"], capsys)
    assert code == 0, err
    [run_dir] = tmp_path.glob("*/seed-0")
    RunDirectory(run_dir).set_status("interrupted", error="SIGINT")
    monkeypatch.setattr(ResizableEnv, "size", 6)  # the policy's input grows from 4 to 6
    copied = []
    monkeypatch.setattr(torch.nn.Module, "load_state_dict",
                        lambda self, *args, **kwargs: copied.append(self))
    before = snapshot(run_dir)
    for args in (["train", "--resume", str(run_dir)], ["eval", str(run_dir)]):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and err.count("\n") == 1, err
        assert "the snapshot's policy does not fit this env's spaces" in err
        assert snapshot(run_dir) == before
    assert copied == []  # refused on the shapes, before any module took a weight


# ---------------------------------------------------------------------------- NaN env

NAN_ENV = '''
"""An env whose reward turns NaN after its 40th step (a test fixture)."""
import gymnasium as gym
import numpy as np


class NanRewardEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.total = 0, getattr(self, "total", 0)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        self.total += 1
        reward = float("nan") if self.total > 40 else 1.0
        return np.zeros(2, np.float32), reward, self.t == 5, False, {}


gym.register("NanReward-v0", entry_point=NanRewardEnv)
'''


def test_an_env_returning_nan_fails_the_run_naming_the_step_and_keeps_a_good_checkpoint(
        tmp_path, capsys, monkeypatch):
    (tmp_path / "nan_reward_env.py").write_text(textwrap.dedent(NAN_ENV))
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


# ---------------------------------------------------------------------------- plotting


def test_plot_skips_unusable_runs_with_warnings_and_plots_the_rest(tmp_path, capsys, tiny_run):
    runs = tiny_run.parent
    # A run with zero finished episodes (header only), as just after its start.
    empty = runs / "seed-1"
    shutil.copytree(tiny_run, empty)
    text = (empty / "episodes.csv").read_text()
    (empty / "episodes.csv").write_text(text.split("\n", 1)[0] + "\n")
    # A run still being written: its last line cut mid-row.
    writing = runs / "seed-2"
    shutil.copytree(tiny_run, writing)
    RunDirectory(writing).set_status("running")
    (writing / "episodes.csv").write_text(text + "640,99,1")
    # A run directory still being created (hidden, as RunDirectory.create assembles it).
    shutil.copytree(tiny_run, runs / ".seed-3.creating-1234")
    # A checkpoint nobody must load: plotting never touches checkpoints.
    plant(tiny_run, 9, tmp_path / "marker", "zip")
    png = tmp_path / "returns.png"
    code, out, err = run_cli(["plot", str(runs.parent), "--out", str(png)], capsys)
    assert code == 0, err
    assert png.exists() and out.strip() == f"wrote {png}"
    warnings = err.splitlines()
    assert all(line.startswith("warning: ") for line in warnings)
    assert any(f"skipping run {empty}: no finished episodes yet" in line for line in warnings)
    assert any("skipping a last line cut short" in line for line in warnings)
    assert any("has 2 run(s)" in line for line in warnings)  # seed-0 and the cut seed-2
    assert not (tmp_path / "marker").exists()


def test_plot_of_only_empty_runs_is_a_clean_error(tmp_path, capsys, tiny_run):
    text = (tiny_run / "episodes.csv").read_text()
    (tiny_run / "episodes.csv").write_text(text.split("\n", 1)[0] + "\n")
    code, _, err = run_cli(["plot", str(tiny_run), "--out", str(tmp_path / "p.png")], capsys)
    assert code == 2
    assert err.splitlines()[-1].startswith("rlbasics plot: error: no runs with finished")
    assert not (tmp_path / "p.png").exists()


def test_checkpoint_files_of_a_finished_run_load_weights_only(tiny_run):
    """What every loading path relies on: the files are plain data (weights_only loads)."""
    for path in (tiny_run / "checkpoints").iterdir():
        state = load_checkpoint(path)
        assert state["agent"] == "reinforce" and state["solved"] is False
