"""Sweeps: many seeds × configs, each trial an ordinary run directory, on a process pool or Ray.

A sweep file (TOML) names a base config, the overrides to sweep, and the seeds::

    agent = "reinforce"         # optional, the default
    env = "CartPole-v1"         # optional: the base config's env_id
    config = "base.toml"        # optional: a config file, relative to this sweep file
    seeds = [0, 1, 2, 3, 4]     # or `seeds = 5` for 0 … 4
    out = "runs/my_sweep"       # optional (default runs/<file stem>), relative to the cwd
    checkpoint_every = 0        # optional, as `rlbasics train --checkpoint-every`
    checkpoint_seconds = 10.0   # optional, as `rlbasics train --checkpoint-seconds`

    [base]                      # config values of every trial
    total_steps = 100_000

    [grid]                      # every combination of these values ...
    gamma = [0.9, 0.99]
    baseline = ["none", "mean"]

    [[variants]]                # ... crossed with each of these sets of values
    weights = "total_return"
    [[variants]]
    weights = "reward_to_go"

A trial's config is, later winning: the config file, ``env``, ``[base]``, one variant, one
grid point, one seed. The trials are variants × grid points × seeds (a missing section
counts as one empty entry): above, 2 × 4 × 5 = 40 runs. A key may not be both in a variant
and in the grid, and ``seed`` is set only by ``seeds``.

Each trial is the run directory `rlbasics.launch.run_path` names, under the sweep folder
``out``, beside an index ``sweep.json`` (written atomically when the sweep starts and
ends): the sweep's definition and each trial's overrides, seed, path, status and error.
The runs' own ``meta.json`` stay the truth; the index is rebuilt from them on each launch.
So ``rlbasics plot OUT --group-by gamma`` and ``rlbasics train --resume OUT`` work on a sweep
folder as on any folder of runs, and `rlbasics.sweep_summary.summary` tabulates it.

Running a sweep again skips its finished trials and resumes the others from their newest
checkpoint (`rlbasics.training.train_run`), so a sweep killed at any moment completes by
running the same command again. A trial that fails is recorded (its status and error in
its meta and in the index) and the others go on. The folder may grow — more seeds, more
grid values — but the trials already in its index must stay in the sweep file.

Backends: ``local`` (no extra dependency) is `rlbasics.launch`'s process pool: at most
``max_parallel`` worker processes, one per trial, Ctrl-C forwarded to them so that they stop
at an update boundary with a checkpoint (with ``max_parallel=1``, one trial after another in
this process). ``ray`` (`rlbasics.sweep_ray`) runs each trial as a Ray task on a running
cluster (``address``) or on a local instance of ``max_parallel`` CPUs started for the sweep.
Both backends run the same function on the same configs, so a trial's numbers do not depend
on the backend nor on ``max_parallel`` (`tests/test_sweep.py` checks it).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rlbasics._numbers import is_integer, is_real
from rlbasics.configs import ConfigError, read_config
from rlbasics.launch import RunSummary, _launch, plan_runs, summarize_run
from rlbasics.runs import RunDirectory, atomic_write_text
from rlbasics.sweep_ray import import_ray, run_on_ray, start_ray
from rlbasics.training import Agent

__all__ = [
    "BACKENDS",
    "INDEX_NAME",
    "SweepSpec",
    "Trial",
    "plan_sweep",
    "read_index",
    "read_sweep",
    "run_sweep",
    "trial_status",
]

BACKENDS = ("local", "ray")
INDEX_NAME = "sweep.json"
_FORMAT = "rlbasics-sweep"
_FILE_KEYS = ("agent", "env", "config", "seeds", "out", "checkpoint_every",
              "checkpoint_seconds", "base", "grid", "variants")


def _describe(overrides: Mapping[str, Any]) -> str:
    """``gamma=0.9, baseline=mean`` (or ``base config`` for no override)."""
    return ", ".join(f"{key}={value}" for key, value in overrides.items()) or "base config"


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: the config values every trial shares, what varies, the seeds, the folder.

    ``read_sweep`` makes one from a file; from Python, e.g.
    ``SweepSpec(base={"total_steps": 50_000}, grid={"gamma": [0.9, 0.99]}, seeds=[0, 1],
    out=Path("runs/gamma"))``. The structure is checked here; the values are checked against
    the agent's config class by `plan_sweep`.

    >>> spec = SweepSpec(base={"lr": 0.01}, grid={"gamma": [0.9, 0.99]},
    ...                  variants=[{"baseline": "none"}, {"baseline": "mean"}], seeds=[0, 1])
    >>> spec.swept
    ['baseline', 'gamma']
    >>> [_describe(point) for point in spec.points()]  # doctest: +NORMALIZE_WHITESPACE
    ['baseline=none, gamma=0.9', 'baseline=none, gamma=0.99',
     'baseline=mean, gamma=0.9', 'baseline=mean, gamma=0.99']
    """

    base: Mapping[str, Any] = field(default_factory=dict)
    """Config values of every trial (the config file, ``env`` and ``[base]``, merged)."""
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    """Config key → the values to try; the trials take every combination."""
    variants: Sequence[Mapping[str, Any]] = field(default_factory=list)
    """Sets of config values, each crossed with every grid point."""
    seeds: Sequence[int] = (0,)
    """One run per seed for every grid point and variant."""
    out: Path = Path("runs/sweep")
    """The sweep folder: run directories and ``sweep.json``."""
    agent: str = "reinforce"
    """The algorithm (`rlbasics.cli.get_agent`)."""
    checkpoint_every: int = 0
    """Also checkpoint every this many updates (0: by time only)."""
    checkpoint_seconds: float = 10.0
    """Checkpoint after this much wall time since the last checkpoint."""
    source: Path | None = None
    """The sweep file read, if any (recorded in the index)."""

    def __post_init__(self) -> None:
        if not isinstance(self.base, Mapping):
            raise ConfigError(f"base must be a table of config values, got {self.base!r}")
        if not isinstance(self.grid, Mapping):
            raise ConfigError(f"grid must be a table of key = [values], got {self.grid!r}")
        for key, values in self.grid.items():
            if not isinstance(values, list | tuple) or not values:
                raise ConfigError(f"grid.{key} must be a non-empty list of values, "
                                  f"got {values!r}")
        if not isinstance(self.variants, list | tuple) or not all(
                isinstance(variant, Mapping) for variant in self.variants):
            raise ConfigError(f"variants must be a list of tables ([[variants]] in TOML), "
                              f"got {self.variants!r}")
        for variant in self.variants:
            both = sorted(set(variant) & set(self.grid))
            if both:
                raise ConfigError(f"{both} set both by a variant and by the grid: which value "
                                  "a trial takes would be ambiguous")
        if any("seed" in table for table in (self.base, self.grid, *self.variants)):
            raise ConfigError("set the seeds with `seeds = [...]`, not a `seed` config value")
        seeds = list(self.seeds) if isinstance(self.seeds, list | tuple) else None
        if not seeds or not all(is_integer(seed, numpy=False) and seed >= 0 for seed in seeds):
            raise ConfigError(f"seeds must be a non-empty list of ints >= 0 (or a count), "
                              f"got {self.seeds!r}")
        repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
        if repeated:
            raise ConfigError(f"seeds must be distinct, got {repeated} more than once")
        if not isinstance(self.agent, str):
            raise ConfigError(f"agent must be a name, got {self.agent!r}")
        if not is_integer(self.checkpoint_every, numpy=False) or self.checkpoint_every < 0:
            raise ConfigError(f"checkpoint_every must be an int >= 0, "
                              f"got {self.checkpoint_every!r}")
        if not (is_real(self.checkpoint_seconds, numpy=False)
                and 0 <= self.checkpoint_seconds < math.inf):
            raise ConfigError(f"checkpoint_seconds must be a number >= 0, "
                              f"got {self.checkpoint_seconds!r}")

    @property
    def swept(self) -> list[str]:
        """The config keys that vary, variants' first, in the order they appear."""
        keys = [key for variant in self.variants for key in variant] + list(self.grid)
        return list(dict.fromkeys(keys))

    def points(self) -> list[dict[str, Any]]:
        """The overrides of each trial but its seed: every variant × every grid point."""
        grid_points = [dict(zip(self.grid, values, strict=True))
                       for values in itertools.product(*self.grid.values())]
        return [{**variant, **point} for variant in (self.variants or [{}])
                for point in grid_points]


def read_sweep(
    path: str | Path,
    *,
    out: str | Path | None = None,
    resolve_env_id: Callable[[str], str] | None = None,
) -> SweepSpec:
    """Read a sweep file (the format is in the module docstring) into a `SweepSpec`.

    ``out`` replaces the file's ``out``; ``resolve_env_id`` maps every ``env_id`` value (the
    command line turns ``rlbasics/GridWorld-v0`` into ``envs:rlbasics/GridWorld-v0`` so that
    worker processes register our envs). A missing or malformed file, an unknown key or a
    value of the wrong kind raises `rlbasics.configs.ConfigError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path} does not exist")
    values = read_config(path)  # a malformed file: ConfigError naming it
    try:
        return _spec_from_table(path, values, out, resolve_env_id or (lambda env_id: env_id))
    except ConfigError as error:
        raise ConfigError(f"sweep file {path}: {error}") from None


def _spec_from_table(path: Path, values: dict[str, Any], out: str | Path | None,
                     resolve_env_id: Callable[[str], str]) -> SweepSpec:
    unknown = sorted(set(values) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown}; allowed keys: {', '.join(_FILE_KEYS)}")
    for key, kind in (("agent", str), ("env", str), ("config", str), ("out", str),
                      ("base", dict), ("grid", dict), ("variants", list)):
        if key in values and not isinstance(values[key], kind):
            shown = {str: "a string", dict: "a table", list: "an array of tables"}[kind]
            raise ConfigError(f"{key} must be {shown}, got {values[key]!r}")
    if "seeds" not in values:
        raise ConfigError("seeds is missing: give `seeds = [0, 1, 2]` or a count `seeds = 3`")
    seeds = values["seeds"]
    if is_integer(seeds, numpy=False):
        if seeds < 1:
            raise ConfigError(f"seeds as a count must be >= 1, got {seeds}")
        seeds = list(range(seeds))
    base: dict[str, Any] = {}
    if "config" in values:
        config_file = path.parent / values["config"]
        base.update(read_config(config_file))
        base.pop("seed", None)  # a run's config.toml holds one; the sweep's seeds replace it
    if "env" in values:
        base["env_id"] = values["env"]
    base.update(values.get("base", {}))

    def resolved(table: Mapping[str, Any]) -> dict[str, Any]:
        return {key: resolve_env_id(value) if key == "env_id" and isinstance(value, str)
                else value for key, value in table.items()}

    grid = values.get("grid", {})
    if isinstance(grid.get("env_id"), list):
        grid = {**grid, "env_id": [resolve_env_id(value) if isinstance(value, str) else value
                                   for value in grid["env_id"]]}
    return SweepSpec(
        base=resolved(base), grid=grid, seeds=seeds,
        variants=[resolved(variant) if isinstance(variant, dict) else variant
                  for variant in values.get("variants", [])],
        out=Path(out if out is not None else values.get("out", Path("runs") / path.stem)),
        agent=values.get("agent", "reinforce"),
        checkpoint_every=values.get("checkpoint_every", 0),
        checkpoint_seconds=values.get("checkpoint_seconds", 10.0),
        source=path.absolute(),
    )


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its overrides of the base config, its seed and run directory."""

    overrides: Mapping[str, Any]
    seed: int
    path: Path
    """Absolute: a Ray worker may run in another directory."""
    config: Any
    """The full config (the agent's config dataclass), seed included."""


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def read_index(sweep_dir: str | Path) -> dict[str, Any]:
    """The ``sweep.json`` of a sweep folder; ValueError naming the file if it is missing or
    not a sweep index."""
    path = Path(sweep_dir) / INDEX_NAME
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{sweep_dir} is not a sweep folder: no {INDEX_NAME}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(index, dict) or index.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an rlbasics sweep index")
    return index


def plan_sweep(agent: Agent, spec: SweepSpec) -> list[Trial]:
    """The trials of ``spec``, after checking everything that can be checked without
    training: each trial's config (`rlbasics.launch.plan_runs`: types, ranges, a learner
    built per grid point), no two trials alike, an existing run's config, and that an
    existing sweep folder holds this sweep. ValueError if anything is wrong; nothing is
    created."""
    if spec.agent != agent.name:
        raise ValueError(f"the sweep is for agent {spec.agent!r}, not {agent.name!r}")
    out = spec.out.absolute()
    trials: list[Trial] = []
    seen: dict[Path, dict[str, Any]] = {}
    for point in spec.points():
        try:
            planned = plan_runs(agent, {**spec.base, **point}, spec.seeds, out)
        except ValueError as error:
            raise ConfigError(f"trial {_describe(point)}: {error}") from None
        for config, path, _ in planned:
            if path in seen:
                raise ConfigError(f"trials {_describe(seen[path])} and {_describe(point)} "
                                  "have the same config: each trial must differ")
            seen[path] = point
            trials.append(Trial(point, config.seed, path, config))
    if (out / INDEX_NAME).exists():
        index = read_index(out)
        dropped = sorted({entry["path"] for entry in index["trials"]}
                         - {str(trial.path.relative_to(out)) for trial in trials})
        if index["agent"] != spec.agent or dropped:
            raise ValueError(
                f"{out} holds another sweep (agent {index['agent']!r}, {len(dropped)} of its "
                f"trials not in this one, e.g. {dropped[:1]}): a sweep folder may gain "
                "trials, not lose them; choose another out folder")
    return trials


def trial_status(run_dir: str | Path) -> tuple[str, str | None]:
    """``(status, error)`` of a trial: its run's meta status, or ``"pending"`` for a run not
    created yet or created but with no update done (it starts from scratch)."""
    run = RunDirectory(run_dir)
    try:
        meta = run.read_meta()
    except ValueError:
        return "pending", None
    if meta["status"] == "running" and not run.updates_path.exists():
        return "pending", None
    return meta["status"], meta.get("error")


def _write_index(spec: SweepSpec, trials: Sequence[Trial], *, backend: str,
                 command: Sequence[str] | None, codes: Mapping[Path, int | None]) -> Path:
    """Write ``sweep.json`` (atomically), each trial's status read from its run directory."""
    out = spec.out.absolute()
    entries = []
    for trial in trials:
        status, error = trial_status(trial.path)
        entries.append({"path": str(trial.path.relative_to(out)), "seed": trial.seed,
                        "overrides": dict(trial.overrides), "status": status, "error": error,
                        "exit_code": codes.get(trial.path)})
    index = {
        "format": _FORMAT, "version": 1, "agent": spec.agent,
        "sweep_file": None if spec.source is None else str(spec.source),
        "base": dict(spec.base), "grid": dict(spec.grid),
        "variants": [dict(variant) for variant in spec.variants],
        "seeds": list(spec.seeds), "swept": spec.swept,
        "backend": backend, "command": None if command is None else list(command),
        "updated": _now(), "counts": dict(Counter(entry["status"] for entry in entries)),
        "trials": entries,
    }
    return atomic_write_text(out / INDEX_NAME, json.dumps(index, indent=2) + "\n")


def run_sweep(
    agent: Agent,
    spec: SweepSpec,
    *,
    backend: str = "local",
    address: str | None = None,
    max_parallel: int | None = None,
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> list[RunSummary]:
    """Run every trial of ``spec`` not finished yet; return every trial's `RunSummary`, in
    the order of `plan_sweep` (``exit_code`` None for a trial skipped as finished).

    ``backend``: ``"local"`` or ``"ray"`` (see the module docstring); ``address``: a Ray
    cluster (ray only); ``max_parallel``: trials at once (default: the CPU cores, or as a
    Ray cluster schedules). ``command`` is recorded in the runs' meta and the index. Bad
    input — the spec, the backend, Ray missing or unreachable — raises ValueError before
    anything is created.

    >>> import tempfile
    >>> from rlbasics.cli import get_agent
    >>> spec = SweepSpec(base={"total_steps": 512, "num_envs": 4, "eval_every": 0},
    ...                  grid={"gamma": [0.9, 0.99]}, seeds=[0], out=Path(tempfile.mkdtemp()))
    >>> runs = run_sweep(get_agent("reinforce"), spec, max_parallel=1)
    >>> [(run.status, run.env_steps) for run in runs]
    [('finished', 512), ('finished', 512)]
    >>> [run.exit_code for run in run_sweep(get_agent("reinforce"), spec, max_parallel=1)]
    [None, None]
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ValueError(f"address applies to the ray backend, not {backend!r}")
    if max_parallel is not None and not (
        is_integer(max_parallel, numpy=False) and max_parallel >= 1
    ):
        raise ValueError(f"max_parallel must be an int >= 1, got {max_parallel!r}")
    ray = import_ray() if backend == "ray" else None
    trials = plan_sweep(agent, spec)
    started_ray = ray is not None and start_ray(ray, address, max_parallel)
    codes: dict[Path, int | None] = {}
    try:
        for trial in trials:
            if not trial.path.exists():
                RunDirectory.create(trial.path, trial.config, command=command)
        statuses = [trial_status(trial.path)[0] for trial in trials]
        jobs = [(trial.path, status != "pending")  # resume: record it in the run's meta
                for trial, status in zip(trials, statuses, strict=True) if status != "finished"]
        _write_index(spec, trials, backend=backend, command=command, codes=codes)
        options = {"command": None if command is None else list(command),
                   "checkpoint_every": spec.checkpoint_every,
                   "checkpoint_seconds": spec.checkpoint_seconds}
        if jobs and ray is None:
            launched = _launch(agent, jobs, workers=max_parallel,
                               options={**options, "progress": progress})
            codes = {run.path: run.exit_code for run in launched}
        elif jobs:
            outcome = run_on_ray(ray, agent, jobs, {**options, "progress": False},
                                  max_parallel, progress)
            codes = {path: code for (path, _), code in zip(jobs, outcome, strict=True)}
    finally:
        if started_ray:
            ray.shutdown()
        if all(trial.path.exists() for trial in trials):
            _write_index(spec, trials, backend=backend, command=command, codes=codes)
    return [summarize_run(trial.path, codes.get(trial.path)) for trial in trials]

