"""The Ray backend of `rlbasics.sweep`: each trial a Ray task, on a cluster or a local instance.

Ray (``pip install 'rlbasics[ray]'``) is imported only here, and only when a sweep asks for
it. Each trial is a task of one CPU running `rlbasics.launch`'s one-run function in a Ray
worker — a process Ray keeps and reuses for later tasks, so torch is imported once per
worker, not once per trial. Tasks are not retried (a failed trial is recorded, as with the
local backend; running the sweep again retries it). The run directories are written by the
workers at the trial's absolute path: on a cluster of several machines the sweep folder must
be on a filesystem every node mounts at the same path, and every node needs rlbasics.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlbasics.launch import FAILED, _one_run
from rlbasics.runs import RunDirectory
from rlbasics.training import Agent

__all__ = ["import_ray", "run_on_ray", "start_ray"]


def import_ray() -> Any:
    """The ``ray`` module, or a ValueError saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ValueError("backend 'ray' needs the optional package ray (pip install "
                         f"'rlbasics[ray]'): {error}") from None
    return ray


def start_ray(ray: Any, address: str | None, max_parallel: int | None) -> bool:
    """Connect to the cluster at ``address``, or start a local instance of ``max_parallel``
    CPUs (default: all); True if this call started Ray (and so should shut it down). A Ray
    already initialised in this process is used as it is."""
    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(num_cpus=max_parallel, include_dashboard=False,
                     logging_level=logging.WARNING)
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = "a local Ray instance" if address is None else f"the Ray cluster at {address}"
        raise ValueError(f"cannot start {where}: {error}") from None
    return True


def _ray_trial(agent: Agent, path: str, resume: bool, options: Mapping[str, Any]) -> int:
    """A Ray task: train one trial in a (reused) Ray worker; its exit status as launch's."""
    import torch

    torch.set_num_threads(1)
    return _one_run(agent, Path(path), resume, {**options, "force_on_repeat": False})


@contextlib.contextmanager
def _signals_interrupt(received: list[int]) -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt here (recording which), main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _ray_outcome(ray: Any, ref: Any, path: Path, received: list[int]) -> int:
    """The exit status of a finished Ray task; a task Ray lost (its worker died) marks the
    run failed."""
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        return 128 + (received[0] if received else signal.SIGINT)
    except ray.exceptions.RayError as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        message = f"Ray: {type(error).__name__}: {first_line}"
        print(f"error: run {path} failed: {message}", file=sys.stderr)
        run = RunDirectory(path)
        with contextlib.suppress(ValueError):
            if run.read_meta()["status"] == "running":
                run.set_status("failed", error=message)
        return FAILED


def run_on_ray(ray: Any, agent: Agent, jobs: Sequence[tuple[Path, bool]],
               options: Mapping[str, Any], limit: int | None,
               progress: bool) -> list[int | None]:
    """Each job a Ray task, at most ``limit`` at once (None: as the cluster schedules);
    each job's exit status (None: never started). The first signal cancels the tasks (a
    running trial stops at an update boundary); a second one stops waiting for them."""
    from tqdm.auto import tqdm

    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)
    codes: list[int | None] = [None] * len(jobs)
    pending, running, received = list(range(len(jobs))), {}, []
    bar = tqdm(total=len(jobs), unit="trial", desc="sweep", disable=not progress)
    with bar, _signals_interrupt(received):
        while running or (pending and not received):
            try:
                while pending and not received and (limit is None or len(running) < limit):
                    index = pending.pop(0)
                    path, resume = jobs[index]
                    running[remote.remote(agent, str(path), resume, options)] = index
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    index = running.pop(ref)
                    codes[index] = _ray_outcome(ray, ref, jobs[index][0], received)
                    bar.update()
            except KeyboardInterrupt:
                if len(received) > 1 or not received:  # a second signal, or a real Ctrl-C
                    raise  # outside our handler: stop waiting
                for ref in running:
                    ray.cancel(ref)
    return codes


