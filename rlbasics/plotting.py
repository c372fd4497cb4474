"""Learning curves across seeds with confidence bands, and final-performance comparisons.

``plot_returns(["runs/"])`` reads every run directory below the given paths (their
``episodes.csv`` and ``config.toml``), groups runs by config fields, and draws per group the
interquartile mean (or mean) of the episode return across seeds with a 95 % stratified
bootstrap band (:mod:`rlbasics.aggregate`), plus a panel of final performance per group.

Runs of unequal length. Each run's (smoothed) returns are interpolated onto one x grid shared
by all groups; a run has no value before its first finished episode or after its last
(:func:`~rlbasics.aggregate.interpolate_to_grid` gives NaN there). By default a group's
curve is drawn only where *all* its runs have data: past the shortest run, the survivors are
a selected subset (with ``x="episodes"`` the slow learners run the most episodes) and the
curve would drift for that reason alone. ``min_runs`` lowers this (1: wherever any run has
data; the statistic and its bootstrap then use the runs present at each point).

Everything is drawn on a plain ``matplotlib.figure.Figure`` (no pyplot, no global state, no
display needed); :func:`save_figure` writes PNG (and SVG) atomically.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib.figure import Figure

from rlbasics.aggregate import (
    Statistic,
    exponential_moving_average,
    interpolate_to_grid,
    interquartile_mean,
    moving_average,
    stratified_bootstrap_ci,
)
from rlbasics.configs import ConfigError, read_config
from rlbasics.metrics import read_metrics
from rlbasics.runs import EPISODE_FIELDS, RunDirectory, atomic_write_bytes

__all__ = [
    "GroupCurve",
    "RunMetrics",
    "interquartile_mean",  # re-exported from rlbasics.aggregate, with the next one
    "learning_curves",
    "load_runs",
    "plot_returns",
    "save_figure",
    "stratified_bootstrap_ci",
]

XAxis = Literal["steps", "episodes", "time"]
_X_LABELS = {"steps": "environment steps", "episodes": "episodes", "time": "wall-clock time (s)"}
_STATISTIC_NAMES = {"iqm": "IQM", "mean": "mean"}


@dataclass(frozen=True)
class RunMetrics:
    """One run's data for plotting: a name, its config, its ``episodes.csv`` columns."""

    name: str
    config: Mapping[str, Any]
    episodes: Mapping[str, np.ndarray]

    def x(self, axis: XAxis) -> np.ndarray:
        """The x value of each episode: env steps, episodes completed, or seconds."""
        if axis == "steps":
            return self.episodes["env_step"]
        if axis == "episodes":
            return self.episodes["episode"] + 1  # zero-based index → episodes completed
        return self.episodes["wall_time"]


@dataclass(frozen=True)
class GroupCurve:
    """A group's curve on the shared grid and its final performance (NaN: not drawn)."""

    label: str
    runs: list[str]
    grid: np.ndarray
    center: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    final: tuple[float, float, float]  # estimate, lower, upper
    final_scores: np.ndarray = field(repr=False)


def _run_dirs(path: Path) -> list[Path]:
    """``path`` if it is a run directory, else the run directories anywhere below it."""
    if (path / "episodes.csv").exists() or (path / "config.toml").exists():
        return [path]
    found = {p.parent for pattern in ("episodes.csv", "config.toml") for p in path.rglob(pattern)}
    return sorted(p for p in found if not p.name.startswith("."))  # not one being created


def _load_run(path: Path) -> RunMetrics | None:
    """One run directory's metrics, or None with a warning saying why it was skipped."""
    run = RunDirectory(path)
    try:
        episodes = read_metrics(run.episodes_path)  # warns about a cut last line
    except ValueError as error:
        warnings.warn(f"skipping run {path}: {error}", stacklevel=3)
        return None
    missing = [name for name in EPISODE_FIELDS if name not in episodes]
    if missing:
        if episodes:  # an empty dict was already warned about by read_metrics
            warnings.warn(f"skipping run {path}: episodes.csv lacks {missing}", stacklevel=3)
        return None
    not_numbers = [name for name in EPISODE_FIELDS
                   if not np.issubdtype(episodes[name].dtype, np.number)]
    if not_numbers:
        warnings.warn(f"skipping run {path}: episodes.csv has non-numbers in {not_numbers}",
                      stacklevel=3)
        return None
    if episodes["episode"].size == 0:
        warnings.warn(f"skipping run {path}: no finished episodes yet", stacklevel=3)
        return None
    config: Mapping[str, Any] = {}
    if run.config_path.exists():
        try:
            config = read_config(run.config_path)
        except ConfigError as error:
            warnings.warn(f"run {path}: ignoring its config: {error}", stacklevel=3)
    return RunMetrics(name=path.name, config=config, episodes=episodes)


def load_runs(paths: str | Path | Iterable[str | Path]) -> list[RunMetrics]:
    """Load every run directory at or below ``paths``, skipping unusable ones with a warning.

    Skipped: a run with no ``episodes.csv``, no finished episode, or a corrupt file. A cut
    last line (a run being written, or killed) is dropped by ``read_metrics`` with a warning.
    A path that does not exist is a ValueError; so is finding no usable run at all.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    runs = []
    for path in map(Path, paths):
        if not path.exists():
            raise ValueError(f"run path {path} does not exist")
        directories = _run_dirs(path)
        if not directories:
            warnings.warn(f"no run directories (with episodes.csv) in {path}", stacklevel=2)
        runs += [run for run in map(_load_run, directories) if run is not None]
    if not runs:
        raise ValueError(f"no runs with finished episodes in {', '.join(map(str, paths))}")
    return runs


def _hashable(value: Any) -> Any:
    """A config value usable as a group key: TOML arrays (``hidden = [64, 64]``) as tuples."""
    return tuple(map(_hashable, value)) if isinstance(value, list) else value


def _smoother(smoothing: str | None):
    """``None``, ``"ma:W"`` (moving average over W episodes) or ``"ema:β"`` → a function."""
    if smoothing is None:
        return lambda values: values
    kind, _, amount = smoothing.partition(":")
    try:
        if kind == "ma":
            window = int(amount)
            moving_average([], window)  # validates now, not at the first run
            return lambda values: moving_average(values, window)
        if kind == "ema":
            weight = float(amount)
            exponential_moving_average([], weight)
            return lambda values: exponential_moving_average(values, weight)
    except ValueError:
        pass
    raise ValueError(f"smoothing must be None, 'ma:WINDOW' (int >= 1) or 'ema:WEIGHT' "
                     f"(in [0, 1)), got {smoothing!r}")


def learning_curves(
    runs: str | Path | Iterable[str | Path | RunMetrics],
    *,
    x: XAxis = "steps",
    group_by: str | Sequence[str] | None = None,
    statistic: Statistic = "iqm",
    smoothing: str | None = None,
    stratify_by: str | None = None,
    min_runs: int | None = None,
    final_episodes: int = 10,
    grid_points: int = 200,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[GroupCurve]:
    """The numbers behind :func:`plot_returns`: one :class:`GroupCurve` per group.

    A run's final score is the mean return of its last ``final_episodes`` episodes
    (unsmoothed). The arguments are :func:`plot_returns`'s.
    """
    if x not in _X_LABELS:
        raise ValueError(f"x must be one of {list(_X_LABELS)}, got {x!r}")
    if not (isinstance(final_episodes, int) and final_episodes >= 1):
        raise ValueError(f"final_episodes must be an int >= 1, got {final_episodes!r}")
    if not (isinstance(grid_points, int) and grid_points >= 2):
        raise ValueError(f"grid_points must be an int >= 2, got {grid_points!r}")
    if min_runs is not None and not (isinstance(min_runs, int) and min_runs >= 1):
        raise ValueError(f"min_runs must be None or an int >= 1, got {min_runs!r}")
    smooth = _smoother(smoothing)
    runs = [runs] if isinstance(runs, (str, Path)) else list(runs)
    paths = [run for run in runs if not isinstance(run, RunMetrics)]
    loaded = [run for run in runs if isinstance(run, RunMetrics)]
    loaded += load_runs(paths) if paths else []
    if not loaded:
        raise ValueError("no runs to plot")
    fields = [group_by] if isinstance(group_by, str) else list(group_by or [])
    needed = fields + ([stratify_by] if stratify_by else [])
    groups: dict[tuple, list[RunMetrics]] = {}
    for run in loaded:
        missing = [name for name in needed if name not in run.config]
        if missing:
            warnings.warn(f"skipping run {run.name}: its config has no {missing}", stacklevel=2)
            continue
        xs = run.x(x)
        if not (np.isfinite(xs).all() and (np.diff(xs) >= 0).all()):
            warnings.warn(f"skipping run {run.name}: its {x} are not finite and non-decreasing "
                          "(rows duplicated by a resume without truncation?)", stacklevel=2)
            continue
        key = tuple(_hashable(run.config[name]) for name in fields)
        groups.setdefault(key, []).append(run)
    if not groups:
        raise ValueError(f"no usable run among {len(loaded)} (see the warnings)")
    try:
        ordered = sorted(groups)  # by value: lr=1e-4 before lr=0.01
    except TypeError:  # values of mixed types
        ordered = sorted(groups, key=str)
    starts = [run.x(x)[0] for members in groups.values() for run in members]
    ends = [run.x(x)[-1] for members in groups.values() for run in members]
    grid = np.linspace(min(starts), max(ends), grid_points)
    rng = np.random.default_rng(seed)
    curves = []
    for key in ordered:
        members = groups[key]
        pairs = zip(fields, key, strict=True)
        label = ", ".join(f"{name}={value}" for name, value in pairs) or "all runs"
        if len(members) < 3:
            warnings.warn(f"group {label!r} has {len(members)} run(s): a confidence interval "
                          "from fewer than 3 seeds says little", stacklevel=2)
        strata: dict[Any, list[int]] = {}
        for index, run in enumerate(members):
            stratum = run.config[stratify_by] if stratify_by else None
            strata.setdefault(stratum, []).append(index)
        returns = np.stack([
            interpolate_to_grid(run.x(x), smooth(run.episodes["return"]), grid) for run in members
        ])
        required = len(members) if min_runs is None else min(min_runs, len(members))
        returns[:, (~np.isnan(returns)).sum(0) < required] = np.nan
        finals = np.array([run.episodes["return"][-final_episodes:].mean() for run in members])
        by_stratum = [returns[rows] for rows in strata.values()]
        center, lower, upper = stratified_bootstrap_ci(
            by_stratum, statistic, n_boot=n_boot, confidence=confidence, rng=rng
        )
        final = stratified_bootstrap_ci(
            [finals[rows] for rows in strata.values()], statistic,
            n_boot=n_boot, confidence=confidence, rng=rng,
        )
        curves.append(GroupCurve(label, [run.name for run in members], grid,
                                 center, lower, upper, final, finals))
    return curves


def plot_returns(
    runs: str | Path | Iterable[str | Path | RunMetrics],
    *,
    x: XAxis = "steps",
    group_by: str | Sequence[str] | None = None,
    statistic: Literal["iqm", "mean"] = "iqm",
    smoothing: str | None = None,
    final: bool = False,
    stratify_by: str | None = None,
    min_runs: int | None = None,
    final_episodes: int = 10,
    grid_points: int = 200,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Figure:
    """Learning curves across seeds with 95 % bootstrap bands, and final performance per group.

    Args:
        runs: run directories, folders holding them (searched recursively), or
            :class:`RunMetrics` (e.g. built in a notebook).
        x: ``"steps"`` (environment steps), ``"episodes"`` or ``"time"`` (seconds).
        group_by: config field(s) whose values make a curve each (e.g. ``"lr"``); None:
            all runs are one group.
        statistic: ``"iqm"`` (interquartile mean across seeds) or ``"mean"``.
        smoothing: None, ``"ma:W"`` (trailing moving average over W episodes) or
            ``"ema:β"`` (debiased exponential average, weight β on the past), applied to
            each run's returns before they are put on the grid.
        final: False — curves on the left and a final-performance panel on the right;
            True — the final-performance panel alone.
        stratify_by: a config field (e.g. ``"env"``) whose values are the bootstrap's
            strata within a group; None: one stratum (the ordinary bootstrap over seeds).
        min_runs: draw a group's curve where at least this many of its runs have data
            (default: all of them; see the module docstring).
        final_episodes: a run's final score is its mean return over this many last episodes.
        grid_points: points on the shared x grid.
        n_boot, confidence, seed: bootstrap replicates, CI level, and the seed of its draws
            (the same seed gives the same figure).

    Warns when a group has fewer than 3 runs and for each run skipped (no finished episode,
    an unreadable file); raises ValueError when no run is left.
    """
    if statistic not in _STATISTIC_NAMES:
        raise ValueError(f"statistic must be 'iqm' or 'mean', got {statistic!r}")
    curves = learning_curves(
        runs, x=x, group_by=group_by, statistic=statistic, smoothing=smoothing,
        stratify_by=stratify_by, min_runs=min_runs, final_episodes=final_episodes,
        grid_points=grid_points, n_boot=n_boot, confidence=confidence, seed=seed,
    )
    name = _STATISTIC_NAMES[statistic]
    percent = f"{confidence:.0%}"
    colors = [f"C{i % 10}" for i in range(len(curves))]
    figure = Figure(figsize=(5, 1.5 + 0.4 * len(curves)) if final else (11, 4.5),
                    layout="constrained")
    if final:
        final_axes = figure.add_subplot()
    else:
        curve_axes, final_axes = figure.subplots(1, 2, width_ratios=[3, 1])
        for curve, color in zip(curves, colors, strict=True):
            curve_axes.plot(curve.grid, curve.center, color=color,
                            label=f"{curve.label} (n={len(curve.runs)})")
            curve_axes.fill_between(curve.grid, curve.lower, curve.upper, color=color,
                                    alpha=0.2, linewidth=0)
        curve_axes.set_xlabel(_X_LABELS[x])
        curve_axes.set_ylabel("episode return")
        curve_axes.set_title(f"{name} across seeds, {percent} bootstrap CI"
                             + (f", smoothed {smoothing}" if smoothing else ""))
        curve_axes.legend(loc="best", fontsize="small")
        curve_axes.grid(alpha=0.3)
    for row, (curve, color) in enumerate(zip(curves, colors, strict=True)):
        estimate, lower, upper = curve.final
        final_axes.errorbar(estimate, row, xerr=[[estimate - lower], [upper - estimate]],
                            fmt="o", color=color, capsize=4)
    final_axes.set_yticks(range(len(curves)), [curve.label for curve in curves])
    final_axes.set_ylim(len(curves) - 0.5, -0.5)
    final_axes.set_xlabel("episode return")
    final_axes.set_title(f"final: {name} of last {final_episodes} episodes", fontsize="medium")
    final_axes.grid(alpha=0.3, axis="x")
    return figure


def save_figure(
    figure: Figure, path: str | Path, *, svg: bool = False, dpi: int = 150
) -> list[Path]:
    """Write ``figure`` as PNG to ``path`` (and as SVG beside it), atomically; return the paths."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {path}")
    written = []
    for target, form in [(path, "png")] + ([(path.with_suffix(".svg"), "svg")] if svg else []):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=form, dpi=dpi)
        written.append(atomic_write_bytes(target, buffer.getvalue()))
    return written
