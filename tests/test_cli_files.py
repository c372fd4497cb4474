"""Run directories survive hostile and broken files: a malicious pickle as a checkpoint (refused
by every loading path, nothing runs), truncated or garbage checkpoints, configs and metas, a
checkpoint for other spaces; and plots of runs that are empty, half-written or still being
written."""

import pickle
import shutil

import gymnasium as gym
import numpy as np
import pytest
import torch
from cli_helpers import run_cli

from rlbasics.checkpoints import load_checkpoint
from rlbasics.cli import get_agent
from rlbasics.launch import run_path, train_seeds
from rlbasics.metrics import read_metrics
from rlbasics.runs import RunDirectory
from rlbasics.training import train_run

AGENT = get_agent("reinforce")
TINY = {"num_envs": 8, "steps_per_update": 16, "total_steps": 640, "eval_every": 0}


def snapshot(path):
    return {p: p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def tiny_run(tmp_path):
    """A finished tiny run (5 updates, 2 checkpoints kept)."""
    [run] = train_seeds(AGENT, TINY, [0], out=tmp_path / "runs", workers=1,
                        checkpoint_every=1)
    return run.path


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
    planted = plant(tiny_run, 9, marker, kind)
    RunDirectory(tiny_run).set_status("interrupted", error="SIGINT")
    before = snapshot(tiny_run)
    same_command = ["train", "--out", str(tiny_run.parent.parent), "--workers", "1",
                    *[arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]]
    for args in (["train", "--resume", str(tiny_run)], same_command, ["eval", str(tiny_run)]):
        code, _, err = run_cli(args, capsys)
        assert code == 2
        assert "was refused: it holds objects other than tensors" in err
        assert "Unsupported global: GLOBAL exec" in err
        assert snapshot(tiny_run) == before
    code, _, err = run_cli(["plot", str(tiny_run), "--out", str(tmp_path / "p.png")], capsys)
    assert code == 0, err  # plotting reads the CSVs only
    # The file given as a config: read as TOML, which it is not.
    code, _, err = run_cli(["train", "--config", str(planted), "--out", str(tmp_path / "new")],
                           capsys)
    assert code == 2 and f"config file {planted} is not valid TOML" in err
    assert not (tmp_path / "new").exists()
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


@pytest.mark.parametrize(("damage", "expected"), [
    ("truncate", "meta.json is not valid JSON: "),
    ("garbage", "meta.json is not valid JSON: 'utf-8' codec can't decode byte 0xff"),
    ("empty", "meta.json is not valid JSON: Expecting value: line 1 column 1"),
    ("no status", "meta.json has no valid status"),
])
def test_a_broken_meta_file_is_a_clean_error(tmp_path, capsys, tiny_run, damage, expected):
    meta = tiny_run / "meta.json"
    good = meta.read_bytes()
    meta.write_bytes({"truncate": good[: len(good) // 2], "garbage": b"\x00\xff{",
                      "empty": b"", "no status": b'{"status": "exploded"}'}[damage])
    before = snapshot(tiny_run)
    for args in (["train", "--resume", str(tiny_run)], ["eval", str(tiny_run)]):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and err.count("\n") == 1, err
        assert f"{tiny_run}/{expected}" in err
        assert snapshot(tiny_run) == before
    png = tmp_path / "p.png"  # plotting needs the episodes, not the meta
    code, _, err = run_cli(["plot", str(tiny_run), "--out", str(png)], capsys)
    assert code == 0 and png.exists(), err


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


def test_plot_of_a_run_while_it_trains(tmp_path, capsys):
    """``rlbasics plot`` on a run in the middle of training (its CSVs open for appending, no
    checkpoint yet, status running) plots what is there; the run goes on undisturbed."""
    config = AGENT.config_cls(**TINY)
    path = RunDirectory.create(run_path(tmp_path / "runs", AGENT.name, config), config).path
    png, plotted = tmp_path / "p.png", []

    def plot_after_update_3(row):
        if row["update"] == 3:
            assert RunDirectory(path).read_meta()["status"] == "running"
            assert not any((path / "checkpoints").iterdir())
            plotted.append(run_cli(["plot", str(path), "--out", str(png)], capsys))

    assert train_run(AGENT, path, on_update=plot_after_update_3,
                     checkpoint_seconds=float("inf")) == "finished"
    [(code, out, err)] = plotted
    assert code == 0 and out.strip() == f"wrote {png}", err
    assert [line for line in err.splitlines() if "fewer than 3 seeds" not in line] == []
    episodes = read_metrics(path / "episodes.csv")
    assert episodes["episode"].tolist() == list(range(len(episodes["episode"])))
    assert episodes["env_step"][-1] == 640


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
