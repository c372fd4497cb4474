"""Learning curves from run directories: the numbers, the figure, and every broken input."""

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from rlbasics.metrics import MetricsWriter
from rlbasics.plotting import RunMetrics, learning_curves, plot_returns, save_figure
from rlbasics.runs import EPISODE_FIELDS, RunDirectory

FAST = {"n_boot": 200}  # enough replicates for the plumbing; coverage is test_aggregate's


def make_run(root, name, config, returns, steps_per_episode=10):
    """A run directory whose episode i ends at env step (i + 1)·steps_per_episode."""
    run = RunDirectory.create(root / name, config, command=["test"])
    with MetricsWriter(run.episodes_path, EPISODE_FIELDS, fsync_interval=60) as writer:
        for episode, value in enumerate(returns):
            step = (episode + 1) * steps_per_episode
            writer.write({"env_step": step, "episode": episode, "return": float(value),
                          "length": steps_per_episode, "wall_time": step / 100})
    return run


def linear_runs(root, offsets, episodes=20, lr=0.01):
    """Runs whose return is 0.5·env_step + offset: linear, so interpolation is exact."""
    steps = 10 * np.arange(1, episodes + 1)
    return [make_run(root, f"lr{lr}-seed{seed}", {"lr": lr, "seed": seed}, 0.5 * steps + offset)
            for seed, offset in enumerate(offsets)]


def test_curve_is_the_iqm_across_seeds_on_the_grid(tmp_path):
    linear_runs(tmp_path, offsets=[0.0, 1.0, 2.0, 100.0])
    (curve,) = learning_curves(tmp_path, grid_points=20, **FAST)
    # Grid: 20 points from the first episode end (10) to the last (200), i.e. 10, 20, ... 200.
    np.testing.assert_allclose(curve.grid, np.arange(10, 201, 10))
    # IQM of 4 offsets drops the lowest and highest: mean(1, 2) = 1.5 (the outlier 100 is out).
    np.testing.assert_allclose(curve.center, 0.5 * curve.grid + 1.5)
    assert (curve.lower <= curve.center + 1e-9).all() and (curve.center <= curve.upper + 1e-9).all()
    # Final score: mean over the last 10 episodes (steps 110..200, mean 155) → 77.5 + offset;
    # IQM over the 4 runs → 77.5 + 1.5.
    np.testing.assert_allclose(curve.final_scores, 77.5 + np.array([0.0, 1.0, 2.0, 100.0]))
    assert curve.final[0] == pytest.approx(79.0)
    assert curve.label == "all runs"
    (mean_curve,) = learning_curves(tmp_path, statistic="mean", grid_points=20, **FAST)
    np.testing.assert_allclose(mean_curve.center, 0.5 * mean_curve.grid + 103 / 4)


def test_smoothing_is_applied_to_each_run_before_aggregating(tmp_path):
    rng = np.random.default_rng(0)
    returns = rng.normal(size=(3, 12))
    for seed, values in enumerate(returns):
        make_run(tmp_path, f"seed{seed}", {"seed": seed}, values)
    (curve,) = learning_curves(tmp_path, smoothing="ma:3", statistic="mean", grid_points=12,
                               **FAST)
    # Grid points fall on the episode ends, so the curve is the mean of the smoothed runs.
    smoothed = [[values[max(0, i - 2): i + 1].mean() for i in range(12)] for values in returns]
    np.testing.assert_allclose(curve.center, np.mean(smoothed, axis=0))


def test_runs_of_unequal_length(tmp_path):
    linear_runs(tmp_path, offsets=[0.0, 1.0, 2.0], episodes=20)
    make_run(tmp_path, "short", {"lr": 0.01, "seed": 9}, 0.5 * 10 * np.arange(1, 11) + 3.0)
    (curve,) = learning_curves(tmp_path, grid_points=20, **FAST)
    # By default only where all 4 runs have data: up to the short run's last step, 100.
    assert np.isfinite(curve.center[curve.grid <= 100]).all()
    assert np.isnan(curve.center[curve.grid > 100]).all()
    assert np.isnan(curve.lower[curve.grid > 100]).all()
    (curve,) = learning_curves(tmp_path, grid_points=20, min_runs=1, **FAST)
    # Past 100 the three long runs remain; IQM of 3 (k=0) is their mean offset, 1.
    tail = curve.grid > 100
    np.testing.assert_allclose(curve.center[tail], 0.5 * curve.grid[tail] + 1.0)


def test_groups_by_config_field_in_value_order(tmp_path):
    linear_runs(tmp_path, offsets=[0, 1, 2], lr=0.01)
    linear_runs(tmp_path, offsets=[10, 11, 12], lr=1e-4)
    curves = learning_curves(tmp_path, group_by="lr", **FAST)
    assert [curve.label for curve in curves] == ["lr=0.0001", "lr=0.01"]
    assert [len(curve.runs) for curve in curves] == [3, 3]
    assert curves[0].final[0] == pytest.approx(77.5 + 11)


def test_groups_by_an_array_field(tmp_path):
    for seed in range(3):
        make_run(tmp_path, f"small{seed}", {"hidden": [8, 8], "seed": seed}, [1.0, 2.0])
        make_run(tmp_path, f"large{seed}", {"hidden": [64, 64], "seed": seed}, [3.0, 4.0])
    curves = learning_curves(tmp_path, group_by=["hidden"], **FAST)
    assert [curve.label for curve in curves] == ["hidden=(8, 8)", "hidden=(64, 64)"]


def test_stratify_by_resamples_within_each_env(tmp_path):
    for seed in range(3):
        make_run(tmp_path, f"easy{seed}", {"env": "easy", "seed": seed}, [0.0] * 12)
        make_run(tmp_path, f"hard{seed}", {"env": "hard", "seed": seed}, [10.0] * 12)
    (stratified,) = learning_curves(tmp_path, statistic="mean", stratify_by="env", **FAST)
    # Every replicate draws 3 easy (0) and 3 hard (10) runs: the mean is always 5.
    np.testing.assert_allclose([stratified.lower, stratified.center, stratified.upper], 5.0)
    (pooled,) = learning_curves(tmp_path, statistic="mean", **FAST)
    assert (pooled.upper - pooled.lower > 1.0).all()


def test_plot_returns_draws_labelled_axes(tmp_path):
    linear_runs(tmp_path, offsets=[0, 1, 2], lr=0.01)
    linear_runs(tmp_path, offsets=[5, 6, 7], lr=0.1)
    figure = plot_returns(tmp_path, group_by="lr", **FAST)
    assert isinstance(figure, Figure)
    curves, final = figure.axes
    assert curves.get_xlabel() == "environment steps"
    assert curves.get_ylabel() == "episode return"
    assert [t.get_text() for t in curves.get_legend().get_texts()] == ["lr=0.01 (n=3)",
                                                                       "lr=0.1 (n=3)"]
    assert "IQM across seeds, 95% bootstrap CI" in curves.get_title()
    assert final.get_xlabel() == "episode return"
    assert [t.get_text() for t in final.get_yticklabels()] == ["lr=0.01", "lr=0.1"]
    for x, label in [("episodes", "episodes"), ("time", "wall-clock time (s)")]:
        assert plot_returns(tmp_path, x=x, **FAST).axes[0].get_xlabel() == label
    (only_final,) = plot_returns(tmp_path, group_by="lr", final=True, **FAST).axes
    assert only_final.get_xlabel() == "episode return"


def test_plot_returns_from_loaded_data_without_files():
    runs = [RunMetrics(f"seed{seed}", {"seed": seed}, {
        "env_step": np.array([5, 12, 30]), "episode": np.arange(3),
        "return": np.array([1.0, 2.0, 3.0]) + seed, "length": np.array([5, 7, 18]),
        "wall_time": np.array([0.1, 0.2, 0.3])}) for seed in range(3)]
    figure = plot_returns(runs, **FAST)
    assert figure.axes[0].get_xlabel() == "environment steps"


def test_same_seed_same_curves(tmp_path):
    rng = np.random.default_rng(1)
    for seed in range(4):
        make_run(tmp_path, f"seed{seed}", {"seed": seed}, rng.normal(size=15))
    first, second = (learning_curves(tmp_path, seed=3, **FAST)[0] for _ in range(2))
    np.testing.assert_array_equal(first.lower, second.lower)
    np.testing.assert_array_equal(first.upper, second.upper)


def test_a_group_with_fewer_than_3_seeds_warns(tmp_path):
    linear_runs(tmp_path, offsets=[0, 1])
    with pytest.warns(UserWarning, match=r"group 'all runs' has 2 run\(s\).*fewer than 3 seeds"):
        plot_returns(tmp_path, **FAST)


def test_broken_runs_are_skipped_with_a_warning_and_the_rest_is_plotted(tmp_path):
    linear_runs(tmp_path, offsets=[0, 1, 2])
    RunDirectory.create(tmp_path / "just-started", {"seed": 7})  # no episodes.csv yet
    MetricsWriter(RunDirectory.create(tmp_path / "no-episodes", {"seed": 8}).episodes_path,
                  EPISODE_FIELDS).close()  # header only: no finished episode
    being_written = make_run(tmp_path, "being-written", {"lr": 0.01, "seed": 3},
                             0.5 * 10 * np.arange(1, 21) + 1.5)
    with being_written.episodes_path.open("a") as file:
        file.write("210,20,10")  # a row cut mid-way
    corrupt = make_run(tmp_path, "corrupt", {"seed": 4}, [1.0, 2.0, 3.0])
    text = corrupt.episodes_path.read_text()
    corrupt.episodes_path.write_text(text.replace("\n20,", "\n20\n"))  # a broken middle row
    (tmp_path / "no-config").mkdir()
    (tmp_path / "no-config" / "episodes.csv").write_text("env_step,episode\n10,0\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (curve,) = learning_curves(tmp_path, **FAST)
    messages = "\n".join(str(warning.message) for warning in caught)
    assert "just-started/episodes.csv does not exist" in messages
    assert "no-episodes: no finished episodes yet" in messages
    assert "skipping a last line cut short" in messages
    assert "corrupt/episodes.csv line 3: expected 5 fields, got 1" in messages
    assert "no-config: episodes.csv lacks ['return', 'length', 'wall_time']" in messages
    assert sorted(curve.runs) == ["being-written", "lr0.01-seed0", "lr0.01-seed1",
                                  "lr0.01-seed2"]


def test_a_run_without_the_group_field_is_skipped(tmp_path):
    linear_runs(tmp_path, offsets=[0, 1, 2])
    make_run(tmp_path, "no-lr", {"seed": 5}, [1.0, 2.0])
    with pytest.warns(UserWarning, match=r"skipping run no-lr: its config has no \['lr'\]"):
        (curve,) = learning_curves(tmp_path, group_by="lr", **FAST)
    assert len(curve.runs) == 3


def test_no_runs_at_all_is_a_clear_error(tmp_path):
    with pytest.warns(UserWarning, match="no run directories"), pytest.raises(
        ValueError, match="no runs with finished episodes in"
    ):
        plot_returns(tmp_path)
    with pytest.raises(ValueError, match=r"run path .*missing does not exist"):
        plot_returns(tmp_path / "missing")
    with pytest.raises(ValueError, match="no runs to plot"):
        plot_returns([])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": "seconds"}, r"x must be one of \['steps', 'episodes', 'time'\], got 'seconds'"),
        ({"statistic": "median"}, "statistic must be 'iqm' or 'mean', got 'median'"),
        ({"smoothing": "ma:0"}, r"smoothing must be None, 'ma:WINDOW' \(int >= 1\) or "
                                r"'ema:WEIGHT' \(in \[0, 1\)\), got 'ma:0'"),
        ({"smoothing": "ema:1.5"}, "smoothing must be None, .*got 'ema:1.5'"),
        ({"smoothing": "gaussian"}, "smoothing must be None, .*got 'gaussian'"),
        ({"final_episodes": 0}, "final_episodes must be an int >= 1, got 0"),
        ({"grid_points": 1}, "grid_points must be an int >= 2, got 1"),
        ({"min_runs": 0}, "min_runs must be None or an int >= 1, got 0"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, match):
    linear_runs(tmp_path, offsets=[0, 1, 2])
    with pytest.raises(ValueError, match=match):
        plot_returns(tmp_path, **kwargs)


def test_save_figure_writes_png_and_svg_atomically(tmp_path):
    linear_runs(tmp_path / "runs", offsets=[0, 1, 2])
    figure = plot_returns(tmp_path / "runs", **FAST)
    written = save_figure(figure, tmp_path / "returns.png", svg=True)
    assert written == [tmp_path / "returns.png", tmp_path / "returns.svg"]
    assert (tmp_path / "returns.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "<svg" in (tmp_path / "returns.svg").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(ValueError, match=r"path must end in \.png, got .*returns.jpg"):
        save_figure(figure, tmp_path / "returns.jpg")


def test_runs_with_unusable_columns_are_skipped(tmp_path):
    linear_runs(tmp_path, offsets=[0, 1, 2])
    # A resume that did not truncate its rows: env_step jumps back.
    make_run(tmp_path, "replayed", {"seed": 5}, [1.0, 2.0, 3.0])
    replayed = RunDirectory(tmp_path / "replayed").episodes_path
    replayed.write_text(replayed.read_text() + "10,0,1.0,10,0.1\n")
    make_run(tmp_path, "text", {"seed": 6}, [1.0, 2.0])
    text = RunDirectory(tmp_path / "text").episodes_path
    text.write_text(text.read_text().replace(",2.0,", ",two,"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (curve,) = learning_curves(tmp_path, **FAST)
    messages = "\n".join(str(warning.message) for warning in caught)
    assert "skipping run replayed: its steps are not finite and non-decreasing" in messages
    assert "text: episodes.csv has non-numbers in ['return']" in messages
    assert len(curve.runs) == 3
