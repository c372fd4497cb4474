"""`rlbasics train` beyond one run: every config field from the command line, seeds in
parallel processes, the progress bars, and the optional TensorBoard logging."""

import dataclasses
import importlib.util
import math
import os
import re
import signal
import sys
import types

import numpy as np
import pytest
from cli_helpers import run_cli

from agents.reinforce import ReinforceConfig
from rlbasics import launch
from rlbasics.cli import get_agent
from rlbasics.launch import run_path, train_seeds
from rlbasics.metrics import read_metrics
from rlbasics.runs import RunDirectory
from rlbasics.training import RunInterrupted, train_run

AGENT = get_agent("reinforce")
# 8 envs x 16 steps = 128 env steps per update, 5 updates, an evaluation every 2nd.
TINY = {"num_envs": 8, "steps_per_update": 16, "total_steps": 640, "eval_every": 2,
        "eval_episodes": 2, "stop_return": math.nan}


# (--set text, the typed value it must give): a value other than the default for every
# field, all valid together (weights=total_return needs episodes_per_update >= 1).
EVERY_FIELD = {
    "env_id": ("Acrobot-v1", "Acrobot-v1"),
    "num_envs": ("3", 3),
    "steps_per_update": ("5", 5),
    "episodes_per_update": ("2", 2),
    "total_steps": ("777", 777),
    "gamma": ("0.5", 0.5),
    "weights": ("total_return", "total_return"),
    "baseline": ("value", "value"),
    "discount_weighting": ("true", True),
    "normalize_advantages": ("no", False),
    "entropy_coef": ("0.1", 0.1),
    "max_grad_norm": ("0.5", 0.5),
    "lr": ("2e-3", 0.002),
    "anneal_lr": ("on", True),
    "value_lr": ("0.003", 0.003),
    "value_steps": ("4", 4),
    "hidden_sizes": ("(8, 4)", (8, 4)),
    "activation": ("relu", "relu"),
    "seed": ("5", 5),
    "device": ("cpu:0", "cpu:0"),
    "num_threads": ("2", 2),
    "eval_every": ("7", 7),
    "eval_episodes": ("3", 3),
    "eval_deterministic": ("false", False),
    "stop_return": ("123.5", 123.5),
}


def test_every_config_field_is_settable_with_set(tmp_path, capsys, monkeypatch):
    fields = dataclasses.fields(ReinforceConfig)
    assert set(EVERY_FIELD) == {field.name for field in fields}  # a new field needs a row
    for field in fields:  # so that a --set the command ignored would show
        assert EVERY_FIELD[field.name][1] != field.default, field.name
    launched = []
    monkeypatch.setattr(launch, "train_seeds", lambda agent, config, seeds, **options:
                        launched.append((config, seeds, options)) or [])
    sets = [arg for name, (text, _) in EVERY_FIELD.items() for arg in ("--set", f"{name}={text}")]
    code, _, err = run_cli(["train", "--out", str(tmp_path), *sets], capsys)
    assert code == 0, err
    [(config, seeds, options)] = launched
    assert config == ReinforceConfig(**{name: value for name, (_, value) in EVERY_FIELD.items()})
    assert seeds == [5] and options["out"] == tmp_path  # the config's seed, the --out


def fake_parallel(codes):
    """A stand-in for `launch._in_parallel` that records its workers and returns ``codes``."""
    calls = []

    def run(agent, jobs, workers, options):
        calls.append(workers)
        return codes[: len(jobs)]

    return run, calls


@pytest.mark.parametrize(("cores", "seeds", "workers"), [
    ({0, 1, 2}, [0, 1, 2, 3], 3),  # as many processes as cores
    ({0, 1, 2, 3}, [0, 1], 2),  # never more than runs
])
def test_seeds_run_in_as_many_processes_as_cores_by_default(tmp_path, monkeypatch, cores, seeds,
                                                             workers):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    run, calls = fake_parallel([0] * len(seeds))
    monkeypatch.setattr(launch, "_in_parallel", run)
    train_seeds(AGENT, TINY, seeds, out=tmp_path)
    assert calls == [workers]


def test_one_core_trains_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    run, calls = fake_parallel([])
    monkeypatch.setattr(launch, "_in_parallel", run)
    [summary] = train_seeds(AGENT, {**TINY, "eval_every": 0}, [0], out=tmp_path)
    assert calls == [] and summary.status == "finished"


def test_a_worker_that_dies_without_an_outcome_marks_its_run_failed(tmp_path, monkeypatch):
    """A worker process that exits 1 before training (the classic: a script without
    ``if __name__ == "__main__":`` re-runs train_seeds in each worker) leaves its run
    ``running``; the launch marks it failed and says why. A refused run (2) and one killed
    by a signal (128 + 9) keep their status, as after a crash."""
    run, _ = fake_parallel([1, 0, 2, 128 + signal.SIGKILL])
    monkeypatch.setattr(launch, "_in_parallel", run)
    summaries = train_seeds(AGENT, TINY, [0, 1, 2, 3], out=tmp_path, workers=4)
    assert [summary.status for summary in summaries] == ["failed", "running", "running",
                                                         "running"]
    assert summaries[0].error.startswith("its worker process exited with status 1 without "
                                         "recording an outcome")
    assert "if __name__ == '__main__':" in summaries[0].error


def test_each_run_shows_a_progress_bar_of_steps_episodes_return_and_speed(tmp_path, capsys):
    config = ReinforceConfig(**TINY, seed=4)
    path = RunDirectory.create(run_path(tmp_path, AGENT.name, config), config).path
    assert train_run(AGENT, path, progress=True) == "finished"
    final = re.split(r"[\r\n]+", capsys.readouterr().err.strip())[-1]
    episodes = read_metrics(path / "episodes.csv")["return"]
    evals = read_metrics(path / "eval.csv")["eval_mean"]
    # "seed 4: 100%|███| 640/640 [00:01<00:00, 512.3step/s, ep=31, ret=21.4, eval=9.5]":
    # the recent return is the mean of the last 20 episodes, the eval the last evaluation's.
    assert final.startswith("seed 4: 100%")
    assert " 640/640 " in final
    assert re.search(r"\d+\.\d+step/s", final)
    assert f"ep={len(episodes)}, ret={episodes[-20:].mean():.1f}, eval={evals[-1]:.1f}]" in final


class FakeSummaryWriter:
    """Records what `torch.utils.tensorboard.SummaryWriter` would write (tensorboard is an
    optional dependency, not installed here)."""

    def __init__(self, log_dir, purge_step=None):
        self.log_dir, self.purge_step, self.scalars, self.closed = log_dir, purge_step, [], False

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, step, value))

    def flush(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tensorboard(monkeypatch):
    """``tensorboard`` looks installed, and torch.utils.tensorboard is the stand-in; the
    writers made, in order."""
    find_spec, made = importlib.util.find_spec, []

    def summary_writer(log_dir, purge_step=None):
        made.append(FakeSummaryWriter(log_dir, purge_step))
        return made[-1]

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: object()
                        if name == "tensorboard" else find_spec(name, *args))
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard",
                        types.SimpleNamespace(SummaryWriter=summary_writer))
    return made


def logged(writers, tag):
    """``(step, value)`` of ``tag`` as TensorBoard shows it: each later writer's purge_step
    hides the earlier writers' events at steps >= it."""
    shown = []
    for writer in writers:
        if writer.purge_step is not None:
            shown = [event for event in shown if event[0] < writer.purge_step]
        shown += [(step, value) for name, step, value in writer.scalars if name == tag]
    return shown


def test_tensorboard_logs_the_csv_rows_when_installed_and_a_resume_hides_the_replaced_ones(
        tmp_path, fake_tensorboard):
    config = ReinforceConfig(**TINY)
    path = RunDirectory.create(run_path(tmp_path, AGENT.name, config), config).path

    def crash_after_update_4(row):  # the checkpoint is update 3's; updates 4's rows exist
        if row["update"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):
        train_run(AGENT, path, on_update=crash_after_update_4, checkpoint_every=3,
                  checkpoint_seconds=math.inf)
    assert train_run(AGENT, path, resume=True) == "finished"
    first, second = fake_tensorboard
    assert first.log_dir == second.log_dir == str(path / "tensorboard")
    assert first.closed and second.closed
    assert (first.purge_step, second.purge_step) == (None, 3 * 128 + 1)  # after update 3
    assert max(step for _, step, _ in first.scalars) == 4 * 128  # update 4 was logged, then
    # hidden: what TensorBoard shows is exactly the CSVs' rows.
    episodes, updates = (read_metrics(path / name) for name in ("episodes.csv", "updates.csv"))
    evals = read_metrics(path / "eval.csv")
    for tag, rows, x, y in [("episode/return", episodes, "env_step", "return"),
                            ("episode/length", episodes, "env_step", "length"),
                            ("update/loss", updates, "env_steps", "loss"),
                            ("update/grad_norm", updates, "env_steps", "grad_norm"),
                            ("eval/mean_return", evals, "env_steps", "eval_mean")]:
        steps, values = zip(*logged(fake_tensorboard, tag), strict=True)
        np.testing.assert_array_equal(steps, rows[x], err_msg=tag)
        np.testing.assert_array_equal(values, rows[y], err_msg=tag)


def test_without_tensorboard_a_run_writes_no_event_files(tmp_path):
    assert importlib.util.find_spec("tensorboard") is None  # as in this environment
    [summary] = train_seeds(AGENT, {**TINY, "eval_every": 0}, [0], out=tmp_path, workers=1)
    assert not (summary.path / "tensorboard").exists()
    [summary] = train_seeds(AGENT, {**TINY, "eval_every": 0}, [1], out=tmp_path, workers=1,
                            tensorboard=False)
    assert summary.status == "finished"
