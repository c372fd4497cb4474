"""Train several seeds at once, one process each, and summarise the runs.

``train_seeds(agent, config, seeds)`` is ``rlbasics train`` from Python::

    from rlbasics.cli import get_agent
    from rlbasics.launch import format_summary, train_seeds
    print(format_summary(train_seeds(get_agent("reinforce"), {"lr": 0.01}, seeds=[0, 1, 2])))

Each (config, seed) gets its own run directory, ``<out>/<env>-<agent>-<hash>/seed-<k>/``,
where ``<hash>`` is 8 hex digits of the SHA-256 of the config without its seed — so the
seeds of one config sit side by side and another config never lands in their folder.
Everything is validated (the config, the seeds, the output folder, and a learner built
once) before the first directory is made.

Seeds run in parallel worker processes (one torch thread each), at most ``workers`` at a
time, each with its tqdm bar on its own line.
SIGINT/SIGTERM to this process is forwarded to the workers, which stop at their next update
boundary with a checkpoint; a second signal kills them (their runs keep the previous
checkpoint and resume as after a crash). With one worker or one run, training happens in
this process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlbasics.configs import ConfigError, config_from_dict, config_to_dict, config_to_toml
from rlbasics.metrics import read_metrics
from rlbasics.runs import RunDirectory
from rlbasics.training import (
    Agent,
    RunFailed,
    RunInterrupted,
    RunRefused,
    check_same_config,
    train_run,
)

__all__ = [
    "RunSummary",
    "exit_code",
    "find_runs",
    "format_summary",
    "format_table",
    "plan_runs",
    "resume_runs",
    "run_path",
    "summarize_run",
    "train_seeds",
]

#: Exit status of a run's worker: finished, failed, refused (bad input, nothing changed);
#: an interrupted run exits 128 + signal number (130 for SIGINT, 143 for SIGTERM).
FINISHED, FAILED, REFUSED = 0, 1, 2
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_path(out: str | Path, agent_name: str, config: Any) -> Path:
    """``<out>/<env>-<agent>-<hash>/seed-<k>``: the run directory of ``config``.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Config:
    ...     env_id: str = "envs:rlbasics/Bandit-v0"
    ...     lr: float = 0.01
    ...     seed: int = 0
    >>> str(run_path("runs", "reinforce", Config(seed=3)))
    'runs/rlbasics_Bandit-v0-reinforce-28b2fbe4/seed-3'
    >>> hashlib.sha256(b'env_id = "envs:rlbasics/Bandit-v0"\\nlr = 0.01\\n').hexdigest()[:8]
    '28b2fbe4'
    >>> run_path("runs", "reinforce", Config(seed=4)).parent == run_path("runs", "reinforce",
    ...     Config(seed=3)).parent
    True
    """
    values = config_to_dict(config)
    without_seed = {key: value for key, value in values.items() if key != "seed"}
    digest = hashlib.sha256(config_to_toml(without_seed).encode()).hexdigest()[:8]
    env = re.sub(r"[^A-Za-z0-9._-]+", "_", str(values.get("env_id", "env")).rpartition(":")[2])
    return Path(out) / f"{env}-{agent_name}-{digest}" / f"seed-{values['seed']}"


def _check_output_folder(out: Path) -> None:
    """``out`` must be a folder or creatable as one: no file at it or above it."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"output path {folder} is a file, not a folder")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ValueError(f"output folder {folder} is not writable")
            return


def plan_runs(agent: Agent, config: Any, seeds: Sequence[int], out: str | Path
              ) -> list[tuple[Any, Path, bool]]:
    """``(config with seed k, its run directory, whether that directory exists)`` for each
    seed, after checking everything that can be checked without training (the config, the
    seeds, the output folder, an existing run's config, and a learner built once):
    ValueError if anything is wrong."""
    if isinstance(config, Mapping):
        config = config_from_dict(agent.config_cls, config)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ValueError(f"seeds must be distinct, got {repeated} more than once")
    out = Path(out)
    _check_output_folder(out)
    planned = []
    for seed in seeds:
        try:
            seeded = dataclasses.replace(config, seed=seed)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"invalid seed {seed!r}: {error}") from None
        path = run_path(out, agent.name, seeded)
        if path.exists():  # the same command again: continue that run (the hash matched)
            check_same_config(RunDirectory(path).read_config(agent.config_cls), seeded)
        planned.append((seeded, path, path.exists()))
    try:  # the env id, its spaces, the device: whatever the learner checks when it is built
        agent.learner_cls(planned[0][0])
    except Exception as error:
        raise ValueError(f"cannot build a {agent.name} learner for "
                         f"{planned[0][0].env_id}: {error}") from None
    return planned


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """The run directories (folders with a ``meta.json``) at or below ``paths``, sorted;
    ValueError for a path that does not exist or holds no run."""
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        if (path / "meta.json").is_file():
            found.append(path)
            continue
        below = sorted(meta.parent for meta in path.rglob("meta.json")  # not one being made:
                       if not any(part.startswith(".")  # RunDirectory.create hides those
                                  for part in meta.parent.relative_to(path).parts))
        if not below:
            raise ValueError(f"{path} is not a run directory and holds none (no meta.json)")
        found += below
    return found


@dataclass(frozen=True)
class RunSummary:
    """One run's outcome, read back from its directory."""

    path: Path
    seed: int | None
    status: str
    exit_code: int | None
    """Of this launch: 0 finished, 1 failed, 2 refused, 128+n interrupted; None: not run."""
    episodes: int
    env_steps: int
    train_time: float
    final_eval: float
    solved_at: int | None
    """Env steps at the first evaluation that reached the stop return (None: never)."""
    error: str | None


def summarize_run(run_dir: str | Path, exit_code: int | None = None) -> RunSummary:
    """A `RunSummary` of the run in ``run_dir`` from its meta and CSVs (missing: 0 / NaN)."""
    run = RunDirectory(run_dir)
    meta: dict[str, Any] = {"status": "unknown", "error": None}
    with contextlib.suppress(ValueError):
        meta = run.read_meta()

    def columns(path: Path) -> dict[str, np.ndarray]:
        try:
            return read_metrics(path)
        except ValueError:
            return {}

    episodes, updates, evals = map(columns, (run.episodes_path, run.updates_path,
                                             run.eval_path))
    seed = None
    with contextlib.suppress(ValueError):
        seed = run.read_config().get("seed")
    solved = np.flatnonzero(evals.get("solved", np.zeros(0)) == 1)
    has_updates, has_evals = len(updates.get("env_steps", [])), len(evals.get("eval_mean", []))
    return RunSummary(
        path=run.path, seed=seed, status=meta["status"], exit_code=exit_code,
        episodes=len(episodes.get("episode", [])),
        env_steps=int(updates["env_steps"][-1]) if has_updates else 0,
        train_time=float(updates["train_time"][-1]) if has_updates else math.nan,
        final_eval=float(evals["eval_mean"][-1]) if has_evals else math.nan,
        solved_at=int(evals["env_steps"][solved[0]]) if len(solved) else None,
        error=meta.get("error"),
    )


def format_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns of text, left-aligned, two spaces apart.

    >>> print(format_table(["seed", "return"], [["0", "500.0"], ["12", "9.5"]]))
    seed  return
    0     500.0
    12    9.5
    """
    rows = [list(header), *map(list, rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                               ).rstrip() for row in rows)


def format_summary(runs: Sequence[RunSummary]) -> str:
    """The end-of-training table: one line per run (and the error of each failed run)."""
    header = ("seed", "status", "solved at", "env steps", "episodes", "train time",
              "final eval", "run directory")
    rows = [(
        "-" if run.seed is None else str(run.seed), run.status,
        "no" if run.solved_at is None else f"{run.solved_at} steps",
        str(run.env_steps), str(run.episodes),
        "-" if math.isnan(run.train_time) else f"{run.train_time:.2f} s",
        "-" if math.isnan(run.final_eval) else f"{run.final_eval:.1f}",
        str(run.path),
    ) for run in runs]
    errors = [f"{run.path}: {run.error}" for run in runs if run.status == "failed"]
    return "\n".join([format_table(header, rows), *errors])


def exit_code(runs: Sequence[RunSummary]) -> int:
    """The launch's exit status: interrupted (128 + signal) over refused (2) over failed (1)
    over finished (0)."""
    codes = [run.exit_code for run in runs if run.exit_code is not None]
    interrupted = [code for code in codes if code >= 128]
    return interrupted[0] if interrupted else max(codes, default=FINISHED)


def _one_run(agent: Agent, path: Path, resume: bool, options: Mapping[str, Any]) -> int:
    """Train one run here; its exit status, with a one-line message on stderr if not 0."""
    try:
        train_run(agent, path, resume=resume, **options)
    except RunInterrupted as stop:
        return 128 + stop.signum
    except RunFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    except RunRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return REFUSED
    return FINISHED


def _worker(agent: Agent, path: Path, resume: bool, options: Mapping[str, Any],
            tqdm_lock: Any) -> None:
    """A worker process's entry point: one torch thread, the shared tqdm lock, one run."""
    import torch
    from tqdm import tqdm

    torch.set_num_threads(1)
    tqdm.set_lock(tqdm_lock)
    sys.exit(_one_run(agent, path, resume, {**options, "force_on_repeat": False}))


def _worker_context(agent: Agent) -> Any:
    """``forkserver`` where the platform has it, ``spawn`` elsewhere: both give each worker
    a clean interpreter state, but a fork server imports torch, ``torch._dynamo`` (pulled in
    by the first optimiser) and the agent's module once, and forks every worker from that:
    a fresh interpreter pays ~5-15 CPU-seconds of imports before its first update."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "torch._dynamo", "rlbasics.training",
                                    agent.learner_cls.__module__])
    return context


def _in_parallel(agent: Agent, jobs: list[tuple[Path, bool]], workers: int,
                 options: Mapping[str, Any]) -> list[int | None]:
    """Run ``jobs`` in at most ``workers`` spawned processes; each job's exit status.

    A worker starts with SIGINT and SIGTERM ignored (an ignored signal stays ignored across
    ``exec``), so a Ctrl-C while it imports torch cannot kill it half-way; its run installs
    its own handlers. A signal received here is forwarded to the workers once a second
    until they exit (they take the first and ignore repeats); a second signal kills them.
    """
    from tqdm import tqdm

    context = _worker_context(agent)
    tqdm_lock = context.RLock()
    tqdm.set_lock(tqdm_lock)
    codes: list[int | None] = [None] * len(jobs)
    running: dict[int, tuple[Any, int]] = {}  # job index -> (process, bar line)
    pending = list(range(len(jobs)))
    received: list[int] = []
    main_thread = threading.current_thread() is threading.main_thread()

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        for process, _ in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum if len(received) == 1 else signal.SIGKILL)

    def start(index: int) -> None:
        line = min(set(range(workers)) - {line for _, line in running.values()})
        path, resume = jobs[index]
        process = context.Process(target=_worker, args=(
            agent, path, resume, {**options, "position": line}, tqdm_lock))
        handlers = {signum: signal.signal(signum, signal.SIG_IGN)
                    for signum in _SIGNALS} if main_thread else {}
        try:
            process.start()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        running[index] = (process, line)

    handlers = {signum: signal.signal(signum, forward) for signum in _SIGNALS} if main_thread \
        else {}
    try:
        while running or (pending and not received):
            while pending and not received and len(running) < workers:
                start(pending.pop(0))
            multiprocessing.connection.wait([p.sentinel for p, _ in running.values()],
                                            timeout=1.0)
            for index, (process, _) in list(running.items()):
                if process.exitcode is not None:
                    code = process.exitcode
                    codes[index] = 128 - code if code < 0 else code  # killed by signal n: -n
                    del running[index]
                elif received:  # a worker still starting ignored it: tell it again
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, received[0])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return codes


def _record_unrecorded_end(run: RunDirectory, code: int | None, stopped: int | None) -> None:
    """Mark a run still ``running`` after its launch: ``interrupted`` if a signal stopped the
    launch before it started, ``failed`` if its worker died without recording an outcome
    (e.g. the script that called `train_seeds` re-ran it while the worker imported it).
    A refused run and one killed by a signal are left as they are (resumable as after a crash).
    """
    try:
        if run.read_meta()["status"] != "running":
            return
    except ValueError:  # an unreadable meta.json: the run was refused
        return
    if stopped and code is None:
        run.set_status("interrupted", error=f"{signal.Signals(stopped - 128).name} before "
                                            "this run started")
    elif code is not None and code not in (FINISHED, REFUSED) and code < 128:
        run.set_status("failed", error=(
            f"its worker process exited with status {code} without recording an outcome "
            "(see its error above; a script that trains seeds in parallel must call "
            "train_seeds under `if __name__ == '__main__':`, as each worker imports it)"))


def _launch(agent: Agent, jobs: list[tuple[Path, bool]], *, workers: int | None,
            options: Mapping[str, Any]) -> list[RunSummary]:
    workers = len(os.sched_getaffinity(0)) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    workers = min(workers, len(jobs))
    if workers == 1:
        codes: list[int | None] = [None] * len(jobs)
        for index, (path, resume) in enumerate(jobs):
            codes[index] = _one_run(agent, path, resume, options)
            if codes[index] >= 128:  # interrupted: leave the rest unstarted
                break
    else:
        codes = _in_parallel(agent, jobs, workers, options)
    stopped = next((code for code in codes if code is not None and code >= 128), None)
    for (path, _), code in zip(jobs, codes, strict=True):
        _record_unrecorded_end(RunDirectory(path), code, stopped)
    return [summarize_run(path, code) for (path, _), code in zip(jobs, codes, strict=True)]


def train_seeds(
    agent: Agent,
    config: Any,
    seeds: Sequence[int] = (0,),
    *,
    out: str | Path = "runs",
    workers: int | None = None,
    command: Sequence[str] | None = None,
    **options: Any,
) -> list[RunSummary]:
    """Train ``config`` (a config dataclass or a mapping of overrides of its defaults) once
    per seed, into run directories under ``out``; return the runs' summaries. A run
    directory that exists already (the same config and seed) is continued, or left as it is
    if finished: running the same call again completes what was interrupted.

    ``workers``: parallel processes (default: the CPU cores this process may use).
    ``options`` go to `rlbasics.training.train_run` (``checkpoint_every``,
    ``checkpoint_seconds``, ``keep``, ``progress``). Bad input raises ValueError before any
    directory is made; a run that fails or is interrupted shows in its summary's status.

    >>> import tempfile
    >>> from rlbasics.cli import get_agent
    >>> [run] = train_seeds(get_agent("reinforce"), {"total_steps": 2048, "eval_every": 0},
    ...                     seeds=[0], out=tempfile.mkdtemp())
    >>> run.status, run.env_steps, run.path.name
    ('finished', 2048, 'seed-0')
    """
    planned = plan_runs(agent, config, seeds, out)
    for seeded, path, exists in planned:
        if not exists:
            RunDirectory.create(path, seeded, command=command)
    options = {**options, "command": None if command is None else list(command)}
    return _launch(agent, [(path, exists) for _, path, exists in planned], workers=workers,
                   options=options)


def resume_runs(
    agent: Agent,
    paths: Iterable[str | Path],
    *,
    workers: int | None = None,
    command: Sequence[str] | None = None,
    **options: Any,
) -> list[RunSummary]:
    """Continue the runs at or below ``paths`` (finished ones are left as they are)."""
    runs = find_runs(paths)
    options = {**options, "command": None if command is None else list(command)}
    return _launch(agent, [(path, True) for path in runs], workers=workers, options=options)
