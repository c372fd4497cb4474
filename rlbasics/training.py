"""Train one run inside its run directory: crash-safe, interruptible, and resumable exactly.

`train_run` drives an agent's own training loop and records it in a run directory made by
`rlbasics.runs.RunDirectory.create`::

    config.toml    the resolved config          episodes.csv  one row per finished episode
    meta.json      status, command, versions    updates.csv   one row per update (loss, ...)
    checkpoints/   learner snapshots            eval.csv      one row per evaluation

The driver knows no algorithm: it receives an `Agent` — the agent's config class, learner
class and ``train`` loop — from the application layer (`rlbasics.cli.get_agent`), so the
core library never imports ``agents``.

How a run survives anything:

- **Checkpoints at update boundaries.** After each update its CSV rows are appended
  (`rlbasics.metrics.MetricsWriter`: one flushed line per row, so ``kill -9`` never cuts
  one); every ``checkpoint_every`` updates, every ``checkpoint_seconds`` of wall time and at
  the end, the CSVs are fsync'ed and ``learner.state_dict()`` is saved atomically
  (`rlbasics.checkpoints.save_checkpoint`, tensors and plain values only).
- **Signals.** SIGINT (Ctrl-C) or SIGTERM is noted, and the run stops at the end of the
  update in progress: it saves that update's checkpoint, marks itself ``interrupted`` and
  raises `RunInterrupted` (the command exits 128 + signal: 130 or 143). A second signal in
  the main process stops at once, keeping the previous checkpoint.
- **Resume.** The newest checkpoint that loads is restored; the CSV rows written after it
  (episodes ≥ its ``episodes_done``, updates > its ``updates``) are dropped; training goes
  on. The learner's snapshot holds every random stream and replays the env actions, so the
  resumed run writes the same rows and ends with the same weights as an uninterrupted one.
- **Failure.** An exception in training (an env returning NaN reward) marks the run
  ``failed`` with the update and step in the message and raises `RunFailed`; the last good
  checkpoint stays. Errors found before anything is changed raise `RunRefused`.
- **TensorBoard, if installed.** The same rows also go to ``tensorboard/`` in the run
  directory (`rlbasics.metrics.open_tensorboard`; x axis: env steps); a resume hides the
  events logged after its checkpoint, as it drops those CSV rows.
- **One trainer at a time.** A run directory is locked (``flock`` on ``.lock``) while
  trained; the kernel releases the lock when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlbasics.checkpoints import CheckpointError, latest_checkpoint, save_checkpoint
from rlbasics.configs import ConfigError, assert_same_config, config_to_dict
from rlbasics.metrics import MetricsWriter, open_tensorboard
from rlbasics.runs import EPISODE_FIELDS, RunDirectory

__all__ = [
    "EVAL_FIELDS",
    "Agent",
    "RunFailed",
    "RunInterrupted",
    "RunRefused",
    "check_same_config",
    "load_learner",
    "train_run",
]

#: Columns of ``eval.csv``: the update evaluated, env steps and training seconds by then, the
#: evaluation's mean return, and 1 if it reached the learner's ``stop_return``.
EVAL_FIELDS = ("update", "env_steps", "train_time", "eval_mean", "solved")


@dataclass(frozen=True)
class Agent:
    """What the driver needs of an algorithm (all importable top-level objects, so an `Agent`
    pickles into a worker process).

    ``learner_cls(config)`` builds a learner with its ``config`` (with ``total_steps`` and
    ``seed``), counters ``updates``, ``env_steps``, ``episodes_done``, ``train_time``, a
    ``stop_return``, a ``policy``, ``state_dict()`` and ``load_state_dict(state)``;
    ``train(config, learner=, on_episode=, on_update=)`` runs its loop
    (`agents.reinforce.train`).
    """

    name: str
    config_cls: type
    learner_cls: Callable[[Any], Any]
    train: Callable[..., Any]


class RunRefused(ValueError):
    """The run cannot start or resume; nothing in its directory was changed."""


class RunFailed(RuntimeError):
    """Training raised; the run is marked ``failed`` and keeps its last good checkpoint."""


class RunInterrupted(Exception):
    """A signal stopped the run; it is marked ``interrupted`` (``signum``: which signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class _StopAtBoundary(BaseException):
    """Raised from the update callback to leave the agent's loop between updates."""


class _StopRequest:
    """Turns SIGINT/SIGTERM into a request to stop at the next update boundary.

    With ``force_on_repeat`` a second signal raises KeyboardInterrupt at once (a user
    pressing Ctrl-C twice). Worker processes receive a terminal's Ctrl-C and the parent's
    forwarded copy, so they ignore repeats. Installed only in the main thread (Python's rule).
    """

    def __init__(self, force_on_repeat: bool) -> None:
        self.force_on_repeat, self.signum = force_on_repeat, None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None and self.force_on_repeat:
            raise KeyboardInterrupt
        self.signum = self.signum or signum

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _exclusive(run: RunDirectory) -> Iterator[None]:
    """Hold the run's lock file; refuse if another process holds it (POSIX ``flock``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    with open(run.path / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunRefused(f"run {run.path} is being trained by another process") from None
        yield


def check_same_config(saved: Any, new: Any) -> None:
    """`rlbasics.configs.assert_same_config`, with NaN equal to NaN (``stop_return = nan``
    is a setting, "never stop early"; NaN != NaN would refuse every such resume)."""
    saved, new = config_to_dict(saved), config_to_dict(new)

    def both_nan(key: str) -> bool:
        pair = (saved.get(key), new.get(key))
        return all(isinstance(value, float) and math.isnan(value) for value in pair)

    assert_same_config({key: value for key, value in saved.items() if not both_nan(key)},
                       {key: value for key, value in new.items() if not both_nan(key)})


def load_learner(agent: Agent, run_dir: str | Path | RunDirectory) -> tuple[Any, Any, Any]:
    """``(learner, config, checkpoint)`` of a run: its config, and a learner restored from
    its newest loadable checkpoint (``checkpoint`` is that file's state, or None: a fresh
    learner). Nothing in the checkpoint executes (``weights_only`` loading); a snapshot for
    other spaces is refused before any weight is copied. Every problem is a `RunRefused`.
    """
    run = RunDirectory(run_dir)
    try:
        run.read_meta()
        config = run.read_config(agent.config_cls)
        found = latest_checkpoint(run)
    except (ConfigError, CheckpointError, ValueError) as error:
        raise RunRefused(str(error)) from None
    try:
        learner = agent.learner_cls(config)
    except Exception as error:
        raise RunRefused(f"cannot build the {agent.name} learner of {run.path}: {error}") from None
    if found is None:
        return learner, config, None
    path, state = found
    try:
        if state.get("agent") != agent.name:
            raise ValueError(f"it was saved by agent {state.get('agent')!r}, not {agent.name!r}")
        check_same_config(state["config"], config)
        learner.load_state_dict(state["learner"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        raise RunRefused(f"checkpoint {path} does not fit run {run.path}: {error}") from None
    return learner, config, state


def _truncate(path: Path, column: str, value: float) -> None:
    """Keep the rows of a metrics CSV whose ``column`` is < ``value`` (nothing if no file)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    writer = MetricsWriter(path, header)  # drops a line cut by a crash, with a warning
    writer.keep_rows_before(column, value)
    writer.close()


class _Recorder:
    """The agent loop's callbacks: CSV rows, checkpoints, the progress bar, the stop check."""

    def __init__(self, run: RunDirectory, agent_name: str, learner: Any, stop: _StopRequest,
                 *, checkpoint_every: int, checkpoint_seconds: float, keep: int,
                 progress: bool, position: int, on_update: Callable | None,
                 tensorboard: bool) -> None:
        self.run, self.agent_name, self.learner = run, agent_name, learner
        self.stop, self.on_update_hook = stop, on_update
        self.checkpoint_every, self.checkpoint_seconds, self.keep = (
            checkpoint_every, checkpoint_seconds, keep)
        self.episodes = MetricsWriter(run.episodes_path, EPISODE_FIELDS)
        self.evals = MetricsWriter(run.eval_path, EVAL_FIELDS)
        self.updates: MetricsWriter | None = None  # its columns are the agent's update row
        self.tensorboard = None
        if tensorboard:  # a resumed run logs again from the update after its checkpoint,
            # whose episodes carry env steps > the checkpoint's: hide older events from there
            resumed_at = learner.env_steps + 1 if learner.env_steps else None
            self.tensorboard = open_tensorboard(run.path / "tensorboard", purge_step=resumed_at)
        self.saved_update, self.last_save = learner.updates, time.monotonic()
        self.solved = False  # the last update's evaluation reached the learner's stop_return
        self.recent: deque[float] = deque(maxlen=20)  # returns of the last episodes
        self.last_eval = "-"  # the bar shows the latest evaluation's mean return
        config = learner.config
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=config.total_steps, initial=learner.env_steps, unit="step",
                            position=position, desc=f"seed {config.seed}", dynamic_ncols=True,
                            leave=True)

    def _log(self, section: str, values: Mapping[str, float], env_steps: int) -> None:
        """Each of ``values`` to TensorBoard (if on) as ``section/name`` at ``env_steps``."""
        if self.tensorboard is not None:
            for name, value in values.items():
                self.tensorboard.add_scalar(f"{section}/{name}", value, env_steps)

    def on_episode(self, row: Mapping[str, float]) -> None:
        self.episodes.write(row)
        self.recent.append(row["return"])
        self._log("episode", {"return": row["return"], "length": row["length"]},
                  row["env_step"])

    def on_update(self, row: Mapping[str, float]) -> None:
        learner = self.learner
        solved = self.solved = bool(row["eval_mean"] >= learner.stop_return)
        update_row = {key: value for key, value in row.items() if key != "eval_mean"}
        if self.updates is None:
            self.updates = MetricsWriter(self.run.updates_path, list(update_row))
        self.updates.write(update_row)
        self._log("update", {key: value for key, value in update_row.items()
                             if key not in ("update", "env_steps")}, row["env_steps"])
        if not math.isnan(row["eval_mean"]):
            self._log("eval", {"mean_return": row["eval_mean"]}, row["env_steps"])
            self.evals.write({"update": row["update"], "env_steps": row["env_steps"],
                              "train_time": row["train_time"], "eval_mean": row["eval_mean"],
                              "solved": solved})
        due = self.checkpoint_every and learner.updates % self.checkpoint_every == 0
        if due or time.monotonic() - self.last_save >= self.checkpoint_seconds:
            self.save()
        if self.bar is not None:
            if not math.isnan(row["eval_mean"]):
                self.last_eval = f"{row['eval_mean']:.1f}"
            self.bar.set_postfix({"ep": learner.episodes_done,
                                  "ret": f"{np.mean(self.recent):.1f}" if self.recent else "-",
                                  "eval": self.last_eval}, refresh=False)
            self.bar.update(row["env_steps"] - self.bar.n)
        if self.on_update_hook is not None:
            self.on_update_hook(row)
        last = solved or learner.env_steps >= learner.config.total_steps
        if self.stop.signum is not None and not last:  # a last update ends the run anyway
            self.save()
            raise _StopAtBoundary

    def save(self) -> None:
        """Fsync the rows, then snapshot the learner (at an update boundary) unless this
        update is saved already. ``solved`` in the snapshot tells a resume the run is over."""
        if self.saved_update == self.learner.updates:
            return
        for writer in (self.episodes, self.evals, self.updates):
            if writer is not None:
                writer.sync()
        if self.tensorboard is not None:
            self.tensorboard.flush()
        save_checkpoint(self.run, {"agent": self.agent_name, "solved": self.solved,
                                   "config": config_to_dict(self.learner.config),
                                   "learner": self.learner.state_dict()}, keep=self.keep)
        self.saved_update, self.last_save = self.learner.updates, time.monotonic()

    def close(self) -> None:
        for writer in (self.episodes, self.evals, self.updates, self.tensorboard):
            if writer is not None:
                writer.close()
        if self.bar is not None:
            self.bar.close()


def train_run(
    agent: Agent,
    run_dir: str | Path | RunDirectory,
    *,
    resume: bool = False,
    checkpoint_every: int = 0,
    checkpoint_seconds: float = 10.0,
    keep: int = 2,
    progress: bool = False,
    position: int = 0,
    on_update: Callable[[Mapping[str, float]], None] | None = None,
    command: list[str] | None = None,
    force_on_repeat: bool = True,
    tensorboard: bool = True,
) -> str:
    """Train the run in ``run_dir`` (made by `RunDirectory.create`) to its end; return its
    status (``"finished"``; a finished run is left as it is).

    Args:
        resume: record the restart in ``meta.json`` (its ``resumed`` list).
        checkpoint_every: also checkpoint every this many updates (0: by time only).
        checkpoint_seconds: checkpoint when this much wall time passed since the last one.
        keep: checkpoint files kept.
        progress, position: a tqdm bar (env steps, episodes, recent mean return, steps/s)
            on line ``position`` of the terminal.
        on_update: called with each update's row after it is recorded (tests send signals
            from here to stop a run at an exact update).
        command: the command line recorded on resume.
        force_on_repeat: a second signal stops at once (see the module docstring).
        tensorboard: also log to ``tensorboard/`` in the run directory if the optional
            ``tensorboard`` package is installed.

    Raises `RunRefused` (nothing changed), `RunInterrupted` or `RunFailed` (status recorded).
    """
    run = RunDirectory(run_dir)
    if not run.path.is_dir():
        raise RunRefused(f"run directory {run.path} does not exist")
    with _exclusive(run):
        try:
            status = run.read_meta()["status"]
        except ValueError as error:
            raise RunRefused(str(error)) from None
        if status == "finished":
            return status
        learner, config, checkpoint = load_learner(agent, run)
        _truncate(run.episodes_path, "episode", learner.episodes_done)
        _truncate(run.updates_path, "update", learner.updates + 1)
        _truncate(run.eval_path, "update", learner.updates + 1)
        if resume:
            run.mark_resumed(command)
        if checkpoint is not None and checkpoint["solved"]:
            run.set_status("finished")
            return "finished"
        with _StopRequest(force_on_repeat) as stop:
            recorder = _Recorder(run, agent.name, learner, stop, checkpoint_every=checkpoint_every,
                                 checkpoint_seconds=checkpoint_seconds, keep=keep,
                                 progress=progress, position=position, on_update=on_update,
                                 tensorboard=tensorboard)
            try:
                agent.train(config, learner=learner, on_episode=recorder.on_episode,
                            on_update=recorder.on_update)
                recorder.save()
            except (_StopAtBoundary, KeyboardInterrupt):
                signum = stop.signum or signal.SIGINT
                run.set_status("interrupted", error=signal.Signals(signum).name)
                raise RunInterrupted(signum) from None
            except Exception as error:
                message = (f"update {learner.updates + 1} (after {learner.env_steps} env "
                           f"steps): {type(error).__name__}: {error}")
                run.set_status("failed", error=message)
                raise RunFailed(f"run {run.path} failed in {message}") from error
            finally:
                recorder.close()
        run.set_status("finished")
    return "finished"

