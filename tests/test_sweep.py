"""Sweeps: a 2×2 grid × 2 seeds completes, with the same numbers on every backend; a sweep
killed with SIGKILL completes on a re-run without re-running finished trials; a failing
trial is recorded while the others finish; the summary agrees with a plain-numpy IQM; bad
input is one line and exit status 2, with nothing created."""

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli, write_faulty_env

from rlbasics.cli import get_agent
from rlbasics.launch import run_path
from rlbasics.plotting import learning_curves
from rlbasics.runs import RunDirectory
from rlbasics.sweep import SweepSpec, plan_sweep, read_index, read_sweep, run_sweep
from rlbasics.sweep_summary import summary

AGENT = get_agent("reinforce")
TIMING_COLUMNS = {"wall_time", "train_time"}
# Each trial: 8 updates of 4 envs × 16 steps (512 env steps), a 2-episode greedy evaluation
# every 2 updates, a checkpoint after every update (so that a kill lands between two).
SWEEP = """
seeds = [0, 1]
checkpoint_every = 1

[base]
num_envs = 4
steps_per_update = 16
total_steps = 512
eval_every = 2
eval_episodes = 2

[grid]
gamma = [0.9, 0.99]
baseline = ["none", "mean"]
"""
TRIALS = 8  # 2 gammas × 2 baselines × 2 seeds


def trial_dirs(sweep_dir):
    return sorted(sweep_dir.glob("*/seed-*"))


def metrics_without_timing(sweep_dir):
    """{trial/file: rows} of every trial's CSVs, timing columns dropped (they differ by run)."""
    contents = {}
    for trial in trial_dirs(sweep_dir):
        for name in ("episodes.csv", "updates.csv", "eval.csv"):
            header, *rows = list(csv.reader(io.StringIO((trial / name).read_text())))
            keep = [i for i, column in enumerate(header) if column not in TIMING_COLUMNS]
            contents[f"{trial.relative_to(sweep_dir)}/{name}"] = [
                [row[i] for i in keep] for row in [header, *rows]]
    return contents


def snapshot(folder):
    """Every file below ``folder`` with its bytes and modification time (ns)."""
    return {path: (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "grid.toml"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def reference(sweep_file, tmp_path_factory):
    """The sweep run by the local backend, one trial after another in this process."""
    out = tmp_path_factory.mktemp("reference") / "sweep"
    runs = run_sweep(AGENT, read_sweep(sweep_file, out=out), max_parallel=1)
    assert [run.exit_code for run in runs] == [0] * TRIALS
    return out


# ---------------------------------------------------------------------------- completing


def test_a_2x2_grid_times_2_seeds_completes_with_one_run_directory_per_trial(reference):
    index = read_index(reference)
    assert index["counts"] == {"finished": TRIALS}
    assert index["swept"] == ["gamma", "baseline"]
    expected = [(gamma, baseline, seed) for gamma in (0.9, 0.99)
                for baseline in ("none", "mean") for seed in (0, 1)]
    assert [(t["overrides"]["gamma"], t["overrides"]["baseline"], t["seed"])
            for t in index["trials"]] == expected
    for trial in index["trials"]:
        run = RunDirectory(reference / trial["path"])
        config = run.read_config(AGENT.config_cls)
        assert (config.gamma, config.baseline, config.seed, config.total_steps) == (
            trial["overrides"]["gamma"], trial["overrides"]["baseline"], trial["seed"], 512)
        # an ordinary run directory, where `rlbasics train` would put this config and seed
        assert run.path == run_path(reference, "reinforce", config)
        assert run.read_meta()["status"] == "finished"
    assert len(trial_dirs(reference)) == TRIALS


def test_running_a_finished_sweep_again_runs_nothing(reference, sweep_file):
    before = snapshot(reference)
    runs = run_sweep(AGENT, read_sweep(sweep_file, out=reference), max_parallel=1)
    assert [run.exit_code for run in runs] == [None] * TRIALS  # none launched
    after = snapshot(reference)
    changed = [path.name for path in before if before[path] != after[path]]
    assert changed == ["sweep.json"]  # re-indexed; no run directory touched


def test_plot_groups_a_sweep_folder_by_a_swept_field(reference, tmp_path, capsys):
    out = tmp_path / "by_baseline.png"
    code, stdout, err = run_cli(["plot", str(reference), "--group-by", "baseline",
                                 "--out", str(out)], capsys)
    assert code == 0, err
    assert out.stat().st_size > 0 and f"wrote {out}" in stdout
    curves = learning_curves(reference, group_by="baseline")
    assert [(curve.label, len(curve.runs)) for curve in curves] == [
        ("baseline=mean", 4), ("baseline=none", 4)]  # 2 gammas × 2 seeds each


# ---------------------------------------------------------------------------- summary


def plain_iqm(values):
    """Sort, drop ⌊n/4⌋ values at each end, average the rest (a loop, not numpy's sort)."""
    ordered = sorted(values)
    k = len(ordered) // 4
    middle = ordered[k:len(ordered) - k]
    return sum(middle) / len(middle)


def final_scores(run_dir):
    """(last evaluation's mean, mean of the last 10 training returns), read with csv."""
    with open(run_dir / "eval.csv") as file:
        final_eval = float(list(csv.DictReader(file))[-1]["eval_mean"])
    with open(run_dir / "episodes.csv") as file:
        returns = [float(row["return"]) for row in csv.DictReader(file)]
    return final_eval, sum(returns[-10:]) / len(returns[-10:])


@pytest.mark.parametrize("group_by", [["gamma"], ["gamma", "baseline"]])
def test_summary_csv_agrees_with_a_plain_iqm_of_the_runs_final_scores(reference, group_by,
                                                                      capsys):
    code, stdout, err = run_cli(["sweep", "--summary", str(reference), "--group-by",
                                 *group_by], capsys)
    assert code == 0, err
    path = reference / f"summary-{'-'.join(group_by)}.csv"
    assert stdout.endswith(f"wrote {path}\n")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    groups = {}
    for trial in read_index(reference)["trials"]:
        key = tuple(str(trial["overrides"][name]) for name in group_by)
        groups.setdefault(key, []).append(final_scores(reference / trial["path"]))
    assert [tuple(row[name] for name in group_by) for row in rows] == sorted(groups)
    for row in rows:
        scores = groups[tuple(row[name] for name in group_by)]
        # by gamma: n = 4 runs, the IQM drops 1 at each end (the mean of the middle two);
        # by gamma and baseline: n = 2, k = 0, the IQM is the mean.
        assert int(row["runs"]) == len(scores) == 8 // 2 ** len(group_by)
        assert row["unfinished"] == "0"
        for column, score in (("final_eval", 0), ("final_return", 1)):
            values = [value[score] for value in scores]
            iqm, low, high = (float(row[f"{column}_{part}"]) for part in ("iqm", "low", "high"))
            assert iqm == pytest.approx(plain_iqm(values), rel=1e-12)
            # a percentile interval of resampled IQMs lies within the scores' range
            assert min(values) <= low <= iqm <= high <= max(values)


def test_summary_refuses_a_field_that_is_not_in_the_config(reference, capsys):
    code, _, err = run_cli(["sweep", "--summary", str(reference), "--group-by", "gama"],
                           capsys)
    assert code == 2
    assert err.count("\n") == 1 and "group_by field(s) ['gama'] are not config fields" in err
    assert not (reference / "summary-gama.csv").exists()


# ---------------------------------------------------------------------------- kill -9


def sweep_state(sweep_dir):
    """(finished trials, unfinished trials with a checkpoint and at most 5 of 8 updates)."""
    finished, resumable = [], []
    for trial in trial_dirs(sweep_dir):
        try:
            status = json.loads((trial / "meta.json").read_text())["status"]
        except (OSError, ValueError):
            continue
        if status == "finished":
            finished.append(trial)
        elif any((trial / "checkpoints").glob("checkpoint-*.pt")):
            updates = trial / "updates.csv"
            if updates.exists() and updates.read_text().count("\n") - 1 <= 5:
                resumable.append(trial)
    return finished, resumable


def test_a_sweep_killed_mid_way_completes_without_rerunning_finished_trials(
        reference, sweep_file, tmp_path):
    out = tmp_path / "sweep"
    process = subprocess.Popen(
        [sys.executable, "-m", "rlbasics.cli", "sweep", str(sweep_file), "--out", str(out),
         "--max-parallel", "1", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while True:  # two trials done and a third part-way, with a checkpoint: kill
            finished, resumable = sweep_state(out)
            if len(finished) >= 2 and resumable:
                break
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep did not get there in time"
            time.sleep(0.005)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the whole process group, as a crash would
        process.wait()
        process.stderr.close()
    finished, resumable = sweep_state(out)
    assert 2 <= len(finished) < TRIALS and resumable
    before = {trial: snapshot(trial) for trial in finished}
    crashed = resumable[0]
    assert RunDirectory(crashed).read_meta()["status"] == "running"  # killed: no record

    runs = run_sweep(AGENT, read_sweep(sweep_file, out=out), max_parallel=1)

    assert all(run.status == "finished" for run in runs)
    assert {run.path for run in runs if run.exit_code is None} == set(finished)
    for trial in finished:  # not a byte, not a modification time changed
        assert snapshot(trial) == before[trial]
    assert len(RunDirectory(crashed).read_meta()["resumed"]) == 1
    # and resumed from its checkpoint exactly: the same rows as the uninterrupted sweep
    assert metrics_without_timing(out) == metrics_without_timing(reference)
    assert read_index(out)["counts"] == {"finished": TRIALS}


# ---------------------------------------------------------------------------- failure


def test_a_failing_trial_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    write_faulty_env(tmp_path, "sweep_broken_env", "SweepBroken-v0", "raise", after=29)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = SweepSpec(base={"num_envs": 2, "steps_per_update": 8, "total_steps": 160,
                           "eval_every": 0},
                     grid={"env_id": ["CartPole-v1", "sweep_broken_env:SweepBroken-v0",
                                      "envs:rlbasics/Bandit-v0"]},
                     seeds=[0], out=tmp_path / "sweep")
    runs = run_sweep(AGENT, spec, max_parallel=1)
    assert [(run.status, run.exit_code) for run in runs] == [
        ("finished", 0), ("failed", 1), ("finished", 0)]
    index = read_index(spec.out)
    assert index["counts"] == {"finished": 2, "failed": 1}
    broken = index["trials"][1]
    assert broken["status"] == "failed" and broken["exit_code"] == 1
    assert "RuntimeError: the env broke" in broken["error"]
    rows = summary(spec.out).rows  # the failed trial is counted, not scored
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("CartPole-v1", 1, 0), ("envs:rlbasics/Bandit-v0", 1, 0),
        ("sweep_broken_env:SweepBroken-v0", 0, 1)]
    assert all(np.isnan(rows[2][3:]))
    # running it again retries the failed trial only
    again = run_sweep(AGENT, spec, max_parallel=1)
    assert [run.exit_code for run in again] == [None, 1, None]


# ---------------------------------------------------------------------------- backends


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_pool_of_2_gives_the_numbers_of_the_sequential_sweep(reference, sweep_file, backend,
                                                               tmp_path):
    if backend == "ray":
        pytest.importorskip("ray", reason="the ray extra is not installed "
                            "(pip install 'rlbasics[ray]'); CI installs it")
    out = tmp_path / "sweep"
    # local: 2 spawned worker processes; ray: a local Ray instance with num_cpus=2
    runs = run_sweep(AGENT, read_sweep(sweep_file, out=out), backend=backend, max_parallel=2)
    assert [run.exit_code for run in runs] == [0] * TRIALS
    assert read_index(out)["backend"] == backend
    assert metrics_without_timing(out) == metrics_without_timing(reference)
    assert summary(out).csv_text() == summary(reference).csv_text()


# ---------------------------------------------------------------------------- bad input

GOOD = 'seeds = [0]\n[base]\ntotal_steps = 64\nnum_envs = 4\n'


@pytest.mark.parametrize("text, args, message", [
    (None, [], r"sweep file grid\.toml does not exist"),
    ("seeds = [0,", [], r"config file grid\.toml is not valid TOML"),
    ("sedes = 2\n", [], r"unknown key\(s\) \['sedes'\]; allowed keys: agent, env"),
    ("seeds = [0, 0]\n", [], r"seeds must be distinct, got \[0\] more than once"),
    ("seeds = 2\n[grid]\ngama = [0.9]\n", [],
     r"trial gama=0\.9: .*unknown config key 'gama' .*did you mean 'gamma'"),
    ("seeds = 2\n[grid]\ngamma = [0.9, 1.5]\n", [],
     r"trial gamma=1\.5: .*gamma must be a number in \[0, 1\], got 1\.5"),
    ("seeds = 2\n[grid]\ngamma = 0.9\n", [], r"grid\.gamma must be a non-empty list"),
    ("seeds = 2\n[grid]\nseed = [1, 2]\n", [], r"set the seeds with `seeds = \[\.\.\.\]`"),
    ("seeds = 2\n[grid]\ngamma = [0.9]\n[[variants]]\ngamma = 0.5\n", [],
     r"\['gamma'\] set both by a variant and by the grid"),
    ("seeds = 2\nagent = 'ppo'\n", [], r"unknown agent 'ppo'; known agents: reinforce"),
    (GOOD, ["--backend", "dask"], r"invalid choice: 'dask'"),
    (GOOD, ["--address", "auto"], r"address applies to the ray backend, not 'local'"),
    (GOOD, ["--max-parallel", "0"], r"must be an int >= 1, got '0'"),
    (GOOD, ["--group-by", "gamma"], r"--group-by applies to --summary"),
    (GOOD, ["--summary", "runs"], r"--summary reads a sweep folder; SWEEP\.toml do not apply"),
])
def test_bad_input_is_one_line_exit_2_and_creates_nothing(tmp_path, monkeypatch, capsys,
                                                          text, args, message):
    monkeypatch.chdir(tmp_path)  # the default sweep folder would be runs/grid here
    if text is not None:
        (tmp_path / "grid.toml").write_text(text)
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run_cli(["sweep", "grid.toml", *args], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert re.search(message, err), err
    assert sorted(tmp_path.rglob("*")) == before


def test_the_ray_backend_without_ray_installed_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    (tmp_path / "grid.toml").write_text(GOOD)
    code, _, err = run_cli(["sweep", "grid.toml", "--backend", "ray"], capsys)
    assert code == 2
    assert "backend 'ray' needs the optional package ray (pip install 'rlbasics[ray]')" in err
    assert sorted(tmp_path.iterdir()) == [tmp_path / "grid.toml"]


def test_summary_of_a_folder_that_is_not_a_sweep_is_refused(tmp_path, capsys):
    code, _, err = run_cli(["sweep", "--summary", str(tmp_path)], capsys)
    assert code == 2 and f"{tmp_path} is not a sweep folder: no sweep.json" in err
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_folder_holding_another_sweep_is_refused(tmp_path, capsys):
    out = tmp_path / "sweep"
    out.mkdir()
    index = {"format": "rlbasics-sweep", "agent": "reinforce",
             "trials": [{"path": "CartPole-v1-reinforce-00000000/seed-0"}]}
    (out / "sweep.json").write_text(json.dumps(index))
    (tmp_path / "grid.toml").write_text(GOOD)
    code, _, err = run_cli(["sweep", str(tmp_path / "grid.toml"), "--out", str(out)], capsys)
    assert code == 2
    assert "holds another sweep (agent 'reinforce', 1 of its trials not in this one" in err
    assert list(out.iterdir()) == [out / "sweep.json"]


# ---------------------------------------------------------------------------- documentation


def test_the_documented_sweep_file_reads_as_documented(tmp_path, capsys):
    code, help_text, _ = run_cli(["sweep", "--help"], capsys)
    assert code == 0
    example = textwrap.dedent(help_text.split("::\n\n", 1)[1].split("\n\nA trial's", 1)[0])
    (tmp_path / "example.toml").write_text(example)
    (tmp_path / "base.toml").write_text("lr = 0.02\n")  # the example's `config = "base.toml"`
    spec = read_sweep(tmp_path / "example.toml")
    # "above, 2 × 4 × 5 = 40 runs": 2 variants × (2 gammas × 2 baselines) × 5 seeds
    assert len(spec.points()) * len(spec.seeds) == 40
    assert spec.base == {"lr": 0.02, "env_id": "CartPole-v1", "total_steps": 100_000}
    assert spec.out == Path("runs/my_sweep") and spec.checkpoint_seconds == 10.0


@pytest.mark.parametrize("name, trials", [("reinforce_variants", 4 * 5),
                                          ("gridworld_gamma", 4 * 5)])
def test_the_example_sweeps_plan(name, trials):
    from rlbasics.cli import _resolve_env_id

    path = Path(__file__).resolve().parents[1] / "sweeps" / f"{name}.toml"
    spec = read_sweep(path, resolve_env_id=_resolve_env_id)
    assert spec.out == Path("runs") / name
    assert len(plan_sweep(AGENT, spec)) == trials  # every config valid, a learner built
