"""The `rlbasics` command as a user runs it: help, version, demo, train, eval, plot, envs."""

import dataclasses
import itertools
import math
import platform
import subprocess
import sys
from datetime import datetime
from importlib.metadata import version
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
from cli_helpers import run_cli

from agents.reinforce import ReinforceConfig
from rlbasics import __version__
from rlbasics.arguments import field_docs
from rlbasics.checkpoints import latest_checkpoint
from rlbasics.cli import get_agent, main
from rlbasics.environments import evaluate
from rlbasics.launch import run_path
from rlbasics.metrics import read_metrics
from rlbasics.plotting import plot_returns
from rlbasics.runs import EPISODE_FIELDS, RunDirectory

# 8 envs x 16 steps = 128 env steps per update; 5 updates. Tiny: a run takes ~1 s.
TINY = ["--set", "num_envs=8", "--set", "steps_per_update=16", "--set", "total_steps=640",
        "--set", "eval_every=2", "--set", "eval_episodes=2"]


def test_version_flag_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rlbasics {__version__}"


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("train", "eval", "plot", "envs", "demo"):
        assert command in out


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "rlbasics.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rlbasics ")


def test_field_docs_reads_the_attribute_docstrings():
    docs = field_docs(ReinforceConfig)
    assert set(docs) == {field.name for field in dataclasses.fields(ReinforceConfig)}
    assert docs["gamma"] == "Discount γ in [0, 1]."
    assert docs["lr"] == "Adam learning rate of the policy."


def test_train_help_lists_every_config_field_with_its_default_and_doc(capsys):
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert code == 0
    for field in dataclasses.fields(ReinforceConfig):
        assert f"  {field.name} = {field.default!r}" in out
    flat = " ".join(out.split())
    assert "gamma = 0.99 (float) Discount γ in [0, 1]." in flat
    assert "Stop at the first evaluation whose mean return is ≥ this" in flat


def test_train_writes_a_complete_run_directory_and_a_summary(tmp_path, capsys):
    code, out, err = run_cli(["train", "--out", str(tmp_path), "--seeds", "3", *TINY], capsys)
    assert code == 0, err
    config = dataclasses.replace(ReinforceConfig(num_envs=8, steps_per_update=16,
                                                 total_steps=640, eval_every=2,
                                                 eval_episodes=2), seed=3)
    path = run_path(tmp_path, "reinforce", config)
    assert path.parent.name.startswith("CartPole-v1-reinforce-")
    run = RunDirectory(path)
    assert run.read_config(ReinforceConfig) == config
    meta = run.read_meta()
    assert meta["status"] == "finished" and meta["error"] is None
    assert meta["command"] == ["rlbasics", "train", "--out", str(tmp_path), "--seeds", "3", *TINY]
    assert meta["versions"] == {"python": platform.python_version(),
                                **{name: version(name) for name in ("rlbasics", "torch",
                                                                    "gymnasium", "numpy")}}
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    assert meta["git_commit"] == (head.stdout.strip() if head.returncode == 0 else None)
    start, end = (datetime.fromisoformat(meta[key]) for key in ("start_time", "end_time"))
    assert start <= end and start.tzinfo is not None
    episodes = read_metrics(run.episodes_path)
    assert tuple(episodes) == EPISODE_FIELDS
    assert episodes["episode"].tolist() == list(range(len(episodes["episode"])))
    updates = read_metrics(run.updates_path)
    assert {"loss", "entropy", "grad_norm", "lr", "mean_return", "train_time"} <= set(updates)
    assert updates["update"].tolist() == [1, 2, 3, 4, 5]
    assert updates["env_steps"].tolist() == [128, 256, 384, 512, 640]  # 8·16 per update
    evals = read_metrics(run.eval_path)
    assert evals["update"].tolist() == [2, 4]  # eval_every=2
    # The checkpoint: weights, optimiser state, the sampling generator and the env actions
    # (the envs' random streams are replayed from their seeded reset), counters; plain data
    # that loads with weights_only=True (latest_checkpoint's loader).
    state = latest_checkpoint(run)[1]
    assert state["agent"] == "reinforce"
    assert {"policy", "optimizer", "generator", "env_actions", "counters"} <= set(state["learner"])
    assert state["learner"]["optimizer"]["state"]  # Adam's moments, after 5 steps
    assert state["learner"]["counters"] == {"updates": 5, "env_steps": 640,
                                            "episodes_done": len(episodes["episode"]),
                                            "train_time": updates["train_time"][-1]}
    # The summary: one row for seed 3 with its numbers.
    header, row = out.strip().splitlines()
    assert header.split()[:4] == ["seed", "status", "solved", "at"]
    assert row.split()[:5] == ["3", "finished", "no", "640", str(len(episodes["episode"]))]
    assert row.split()[-1] == str(path)
    assert f"{evals['eval_mean'][-1]:.1f}" in row


def test_eval_reports_returns_of_the_latest_checkpoint(tmp_path, capsys):
    code, _, err = run_cli(["train", "--out", str(tmp_path), *TINY], capsys)
    assert code == 0, err
    code, out, err = run_cli(["eval", str(tmp_path), "--episodes", "3", "--seed", "7"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "3 episodes per run, greedy policy, seed 7"
    row = lines[2].split()
    assert row[1:3] == ["5", "640"]  # updates, env steps of the checkpoint
    # Independent check: the same policy weights evaluated directly give the same mean.
    agent = get_agent("reinforce")
    run = next(tmp_path.glob("*/seed-0"))
    learner = agent.learner_cls(RunDirectory(run).read_config(ReinforceConfig))
    learner.load_state_dict(latest_checkpoint(run)[1]["learner"])
    returns = evaluate(learner.policy, "CartPole-v1", 3, deterministic=True, seed=7)
    assert row[3] == f"{returns.mean():.1f}"
    code, out, _ = run_cli(["eval", str(run), "--episodes", "2", "--stochastic"], capsys)
    assert code == 0 and "stochastic policy" in out


class RenderedCorridor(gym.Env):
    """Three cells; action 1 steps right, 0 left; the right end terminates with reward 1.
    Renders a 1x3 image with the agent's cell white (no pygame needed, unlike CartPole)."""

    metadata: ClassVar = {"render_modes": ["rgb_array"], "render_fps": 4}
    observation_space = gym.spaces.Box(0.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode, self.position = render_mode, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return np.eye(3, dtype=np.float32)[self.position], {}

    def step(self, action):
        self.position = min(2, max(0, self.position + (1 if action == 1 else -1)))
        done = self.position == 2
        return np.eye(3, dtype=np.float32)[self.position], float(done), done, False, {}

    def render(self):
        frame = np.zeros((1, 3, 3), np.uint8)
        frame[0, self.position] = 255
        return frame


gym.register("RenderedCorridor-cli-test-v0", entry_point=RenderedCorridor, max_episode_steps=30)


def test_eval_video_is_written_with_imageio_when_it_is_installed(tmp_path, capsys,
                                                                 monkeypatch):
    """imageio is optional and not installed here: a stand-in records what would be saved."""
    code, _, err = run_cli(["train", "--out", str(tmp_path), "--env",
                            "RenderedCorridor-cli-test-v0", *TINY], capsys)
    assert code == 0, err
    saved = {}

    class FakeImageio:
        @staticmethod
        def mimsave(path, frames, fps):
            saved.update(path=path, frames=frames, fps=fps)

    monkeypatch.setitem(sys.modules, "imageio", FakeImageio)
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name: name in ("imageio", "imageio_ffmpeg") or None)
    video = tmp_path / "episode.mp4"
    code, out, err = run_cli(["eval", str(tmp_path), "--episodes", "1", "--video", str(video)],
                             capsys)
    assert code == 0, err
    assert saved["path"] == video and saved["fps"] == 4
    assert out.strip().endswith(f"video: {video}")
    # One frame after the reset, then one per step, each showing where the agent stands:
    # consecutive positions differ by one cell (or stay at the left wall), and the episode
    # ends at the right end (terminated) or after the 30-step limit (1 + 30 frames).
    positions = [int(np.flatnonzero(frame[0, :, 0])[0]) for frame in saved["frames"]]
    assert positions[0] == 0
    assert all(abs(b - a) == 1 or a == b == 0 for a, b in itertools.pairwise(positions))
    assert positions[-1] == 2 or len(positions) == 31


def test_eval_video_explains_a_missing_optional_dependency(tmp_path, capsys, monkeypatch):
    code, _, err = run_cli(["train", "--out", str(tmp_path), *TINY], capsys)
    assert code == 0, err
    video = tmp_path / "a.mp4"
    # Whatever this environment has installed: first nothing, then imageio alone, then both.
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    code, _, err = run_cli(["eval", str(tmp_path), "--video", str(video)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "--video needs the optional package imageio" in err
    # imageio without an ffmpeg backend writes no .mp4 (found before evaluating anything).
    monkeypatch.setitem(sys.modules, "imageio", object())
    monkeypatch.setattr("importlib.util.find_spec", lambda name: name == "imageio" or None)
    code, out, err = run_cli(["eval", str(tmp_path), "--video", str(video)], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "--video to an .mp4 needs an ffmpeg backend of imageio " \
        "(pip install imageio-ffmpeg)" in err
    # With both, CartPole still needs pygame to draw itself (not installed here either).
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name: name in ("imageio", "imageio_ffmpeg") or None)
    code, _, err = run_cli(["eval", str(tmp_path), "--episodes", "1", "--video", str(video)],
                           capsys)
    assert code == 2
    assert err.count("\n") == 1 and "--video cannot render CartPole-v1: pygame is not " \
        "installed" in err
    assert not video.exists()


def test_plot_writes_a_png_of_the_runs(tmp_path, capsys):
    code, _, err = run_cli(["train", "--out", str(tmp_path / "runs"), "--workers", "1",
                            "--seeds", "0", "1", "2", *TINY], capsys)
    assert code == 0, err
    out_png = tmp_path / "figures" / "returns.png"
    code, out, err = run_cli(["plot", str(tmp_path / "runs"), "--out", str(out_png),
                              "--x", "episodes", "--group-by", "lr", "--svg"], capsys)
    assert code == 0, err
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out_png.with_suffix(".svg").exists()
    assert out.splitlines() == [f"wrote {out_png}", f"wrote {out_png.with_suffix('.svg')}"]
    assert "warning" not in err  # 3 seeds: no small-group warning
    code, _, err = run_cli(["plot", str(tmp_path / "runs"), "--out", str(out_png), "--final",
                            "--statistic", "mean", "--smoothing", "ma:3"], capsys)
    assert code == 0, err
    # The x axes: one grid for all runs, from the earliest first episode to the latest last
    # one, in env steps, episodes completed (index + 1) or seconds of training.
    episodes = [read_metrics(path) for path in (tmp_path / "runs").glob("*/seed-*/episodes.csv")]
    for x, column, offset in [("steps", "env_step", 0), ("episodes", "episode", 1),
                              ("time", "wall_time", 0)]:
        line = plot_returns(tmp_path / "runs", x=x, n_boot=10).axes[0].lines[0]
        grid = line.get_xdata()
        assert grid[0] == min(run[column][0] for run in episodes) + offset
        assert grid[-1] == pytest.approx(max(run[column][-1] for run in episodes) + offset)


def test_envs_lists_ours_and_gymnasiums(capsys):
    import envs

    code, out, _ = run_cli(["envs"], capsys)
    assert code == 0
    ours, theirs = out.split("Gymnasium environments")
    for env_id in envs.ENV_IDS:
        assert env_id in ours
    assert "short corridor with switched actions" in ours  # the module docstrings
    listed = theirs.split()
    for env_id in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
        assert env_id in listed
    assert not set(envs.ENV_IDS) & set(listed)
    assert len([e for e in gym.registry if e not in envs.ENV_IDS]) == int(
        theirs.split("(")[1].split(")")[0])


def test_train_resolves_our_env_ids_for_worker_processes(tmp_path, capsys):
    code, _, err = run_cli(["train", "--out", str(tmp_path), "--env", "rlbasics/Bandit-v0",
                            "--set", "num_envs=4", "--set", "steps_per_update=2",
                            "--set", "total_steps=16", "--set", "eval_every=0"], capsys)
    assert code == 0, err
    [run] = tmp_path.glob("*/seed-0")
    assert run.parent.name.startswith("rlbasics_Bandit-v0-reinforce-")
    assert RunDirectory(run).read_config()["env_id"] == "envs:rlbasics/Bandit-v0"
    episodes = read_metrics(RunDirectory(run).episodes_path)
    # One-step episodes; after each, the vector env spends a step resetting: 2 updates x 4
    # envs x 2 steps, half of them episodes.
    assert len(episodes["episode"]) == 8
    assert not np.isnan(episodes["return"]).any() and math.isfinite(episodes["return"].sum())


def test_contrast_prints_the_table_and_writes_the_figure(tmp_path, capsys):
    """The MLE-vs-RL experiment at a toy size (its numbers are agents/contrast.py's tests')."""
    out_png = tmp_path / "contrast.png"
    code, out, err = run_cli(["contrast", "--out", str(out_png), "--set", "seeds=2",
                              "--set", "fractions=0.0,0.5", "--set", "demo_steps=100",
                              "--set", "compounding_steps=()", "--set", "reinforce_steps=0",
                              "--set", "bc_updates=3", "--set", "eval_episodes=1"], capsys)
    assert code == 0, err
    table = out_png.with_suffix(".txt").read_text()
    assert table.startswith("MLE vs RL on CartPole-v1: mean ± 95 % Student-t interval over "
                            "2 seeds (0, 1)")
    assert out == f"{table}wrote {out_png}\nwrote {out_png.with_suffix('.txt')}\n"
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_contrast_help_lists_the_experiment_fields(capsys):
    from agents.contrast import ContrastConfig

    code, out, _ = run_cli(["contrast", "--help"], capsys)
    assert code == 0
    for field in dataclasses.fields(ContrastConfig):
        assert f"  {field.name} = {field.default!r}" in out
    assert "corruption fractions ε, each in [0, 1), distinct, at least one." in " ".join(
        out.split())
