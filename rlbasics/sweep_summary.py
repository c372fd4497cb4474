"""A sweep's results: final performance per group of runs (IQM with a 95 % bootstrap CI), and
one line per trial.

Each finished trial of a sweep (`rlbasics.sweep`) gets two final scores:

- **final eval**: the mean return of its last evaluation (``eval.csv``: ``eval_episodes``
  fresh episodes, greedy unless the config says otherwise) — the trained policy's quality;
- **final return**: the mean undiscounted return of its last ``final_episodes`` training
  episodes (``episodes.csv``) — the same score as the right panel of ``rlbasics plot``.

The runs are grouped by the values of config fields (default: the fields the sweep varies);
per group, the interquartile mean of each score across runs with a percentile-bootstrap CI
(`rlbasics.aggregate.stratified_bootstrap_ci`; one stratum, so the ordinary bootstrap over
runs; Agarwal et al. 2021). Trials not finished (failed, interrupted, pending) are counted
but not scored: a partial run's last returns are not its final ones.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlbasics.aggregate import stratified_bootstrap_ci
from rlbasics.configs import ConfigError
from rlbasics.launch import RunSummary, format_table, summarize_run
from rlbasics.metrics import read_metrics
from rlbasics.plotting import _hashable  # group keys as `rlbasics plot` makes them
from rlbasics.runs import RunDirectory, atomic_write_text
from rlbasics.sweep import SweepSpec, read_index, trial_status

__all__ = ["SCORES", "SweepSummary", "format_trials", "summary"]

SCORES = ("final_eval", "final_return")


@dataclass(frozen=True)
class SweepSummary:
    """One row per group: its field values, run counts, and per score its IQM, CI bounds."""

    sweep_dir: Path
    group_by: tuple[str, ...]
    header: tuple[str, ...]
    """``*group_by, runs, unfinished``, then ``<score>_iqm, <score>_low, <score>_high``
    for each of `SCORES` (``runs``: the finished runs scored; NaN: no score)."""
    rows: list[tuple[Any, ...]]
    confidence: float
    csv_name: str = "summary.csv"
    """The file `write_csv` writes in the sweep folder by default."""

    def csv_text(self) -> str:
        """The rows as CSV; floats written with ``repr`` (they read back exactly)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows([repr(value) if isinstance(value, float) else value
                          for value in row] for row in self.rows)
        return buffer.getvalue()

    def write_csv(self, path: str | Path | None = None) -> Path:
        """Write `csv_text` atomically to ``path`` (default: `csv_name` in the sweep folder)."""
        return atomic_write_text(self.sweep_dir / self.csv_name if path is None else path,
                                 self.csv_text())

    def table(self) -> str:
        """The rows for a terminal: ``IQM [low, high]`` per score, 4 significant digits."""
        percent = f"{self.confidence:.0%}"
        columns = len(self.group_by)

        def interval(estimate: float, low: float, high: float) -> str:
            if math.isnan(estimate):
                return "-"
            return f"{estimate:.4g} [{low:.4g}, {high:.4g}]"

        header = [*self.group_by, "runs",
                  *(f"{score.replace('_', ' ')} IQM [{percent} CI]" for score in SCORES)]
        rows = []
        for row in self.rows:
            runs, unfinished = row[columns:columns + 2]
            scores = row[columns + 2:]
            rows.append([*map(str, row[:columns]),
                         f"{runs}" + (f" (+{unfinished} unfinished)" if unfinished else ""),
                         *(interval(*scores[3 * i:3 * i + 3]) for i in range(len(SCORES)))])
        return format_table(header, rows)


def _final_return(run: RunDirectory, final_episodes: int) -> float:
    with contextlib.suppress(ValueError):  # no episodes.csv: no score
        returns = read_metrics(run.episodes_path).get("return", np.zeros(0))
        if returns.size:
            return float(np.mean(returns[-final_episodes:]))
    return math.nan


def summary(
    sweep_dir: str | Path,
    group_by: str | Sequence[str] | None = None,
    *,
    final_episodes: int = 10,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> SweepSummary:
    """Final performance per group of the sweep in ``sweep_dir`` (see the module docstring).

    IQM(x) = mean of the sorted scores x_(k) … x_(n−k−1), k = ⌊n/4⌋, across the group's
    finished runs; the CI is the percentile bootstrap over runs (``n_boot`` replicates,
    drawn from ``np.random.default_rng(seed)`` afresh for each group and score, so a group's
    numbers do not depend on the other groups). ``group_by``: config field(s) (default: the
    sweep's swept fields, written to ``summary.csv``; others to ``summary-<fields>.csv``;
    ``[]``: one group of all runs). ValueError for a folder that is not
    a sweep or a field that is not a config field of its runs.

    >>> import tempfile
    >>> from rlbasics.cli import get_agent
    >>> from rlbasics.sweep import SweepSpec, run_sweep
    >>> spec = SweepSpec(base={"total_steps": 512, "num_envs": 4, "eval_every": 4},
    ...                  grid={"gamma": [0.9, 0.99]}, seeds=[0, 1], out=Path(tempfile.mkdtemp()))
    >>> _ = run_sweep(get_agent("reinforce"), spec, max_parallel=1)
    >>> result = summary(spec.out)
    >>> result.header[:4], [row[:3] for row in result.rows]
    (('gamma', 'runs', 'unfinished', 'final_eval_iqm'), [(0.9, 2, 0), (0.99, 2, 0)])
    """
    if not (isinstance(final_episodes, int) and final_episodes >= 1):
        raise ValueError(f"final_episodes must be an int >= 1, got {final_episodes!r}")
    sweep_dir = Path(sweep_dir)
    index = read_index(sweep_dir)
    fields = tuple(index["swept"] if group_by is None
                   else [group_by] if isinstance(group_by, str) else group_by)
    groups: dict[tuple, list[tuple[str, float, float]]] = {}
    for trial in index["trials"]:
        run = RunDirectory(sweep_dir / trial["path"])
        try:
            config = run.read_config()
        except ConfigError:  # a trial whose folder is gone: its config from the index
            config = {**index["base"], **trial["overrides"], "seed": trial["seed"]}
        unknown = [name for name in fields if name not in config]
        if unknown:
            raise ValueError(f"group_by field(s) {unknown} are not config fields of the "
                             f"sweep's runs; fields: {', '.join(config)}")
        outcome = summarize_run(run.path)
        key = tuple(_hashable(config[name]) for name in fields)
        groups.setdefault(key, []).append((outcome.status, outcome.final_eval,
                                           _final_return(run, final_episodes)))
    try:
        ordered = sorted(groups)  # by value: gamma=0.9 before gamma=0.99
    except TypeError:  # values of mixed types
        ordered = sorted(groups, key=str)
    rows = []
    for key in ordered:
        finished = [member for member in groups[key] if member[0] == "finished"]
        scores = []
        for column in (1, 2):  # final eval, final return
            values = np.array([member[column] for member in finished])
            if values.size == 0 or np.isnan(values).all():
                scores += [math.nan] * 3
                continue
            scores += stratified_bootstrap_ci([values], "iqm", n_boot=n_boot,
                                              confidence=confidence,
                                              rng=np.random.default_rng(seed))
        rows.append((*key, len(finished), len(groups[key]) - len(finished), *scores))
    header = (*fields, "runs", "unfinished",
              *(f"{score}_{part}" for score in SCORES for part in ("iqm", "low", "high")))
    name = "summary.csv" if group_by is None else f"summary-{'-'.join(fields) or 'all'}.csv"
    return SweepSummary(sweep_dir, fields, header, rows, confidence, name)


def format_trials(spec: SweepSpec, runs: Sequence[RunSummary]) -> str:
    """One line per trial: its overrides, seed, status, final evaluation, env steps and
    folder (relative to the sweep's); then the error of each failed trial."""
    out = spec.out.absolute()
    swept = spec.swept
    rows = []
    for run in runs:
        config = RunDirectory(run.path).read_config()
        rows.append([*(str(config.get(key, "-")) for key in swept),
                     "-" if run.seed is None else str(run.seed), trial_status(run.path)[0],
                     "-" if math.isnan(run.final_eval) else f"{run.final_eval:.4g}",
                     str(run.env_steps), str(run.path.relative_to(out))])
    header = [*swept, "seed", "status", "final eval", "env steps", f"run (in {spec.out})"]
    errors = [f"{run.path.relative_to(out)}: {run.error}" for run in runs
              if run.status == "failed"]
    return "\n".join([format_table(header, rows), *errors])
