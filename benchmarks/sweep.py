"""Throughput of a sweep of 16 tiny trials: one after another, the local process pool, and Ray.

The same sweep (4 values of γ × 4 seeds of REINFORCE on CartPole-v1, ``--steps`` env steps
each) runs three ways, each into a fresh folder, timed by wall clock from the call to
`rlbasics.sweep.run_sweep` to its return (planning, run directories, index included):

- **sequential**: ``max_parallel=1``, the trials one after another in this process (warmed
  up first by one trial, so that torch's and numba's one-time loading is not counted);
- **local pool**: ``max_parallel=--workers``, `rlbasics.launch`'s pool: one spawned process
  per trial, each importing torch & co. afresh;
- **ray**: a local Ray instance of ``--workers`` CPUs started by the call (its start and
  shutdown included), each trial a task in Ray's reused worker processes.

Per trial, ``train`` is the training time the run records (``train_time``: collection and
learning), and the overhead is what each trial costs beyond it in core-seconds:
``wall × parallelism / trials − train``. Speed-ups are ratios of throughput against the
sequential row measured in the same run. The trials' numbers are identical on all three
(checked here: the summary CSVs must be equal).

    .venv/bin/python benchmarks/sweep.py [--steps 512] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from rlbasics.cli import get_agent
from rlbasics.launch import format_table
from rlbasics.metrics import read_metrics
from rlbasics.sweep import SweepSpec, run_sweep
from rlbasics.sweep_summary import summary

TRIALS = 16


def timed_sweep(spec: SweepSpec, backend: str, workers: int) -> tuple[float, float]:
    """(wall seconds of the sweep, mean recorded training seconds per trial)."""
    start = time.perf_counter()
    runs = run_sweep(get_agent("reinforce"), spec, backend=backend, max_parallel=workers)
    wall = time.perf_counter() - start
    if any(run.status != "finished" for run in runs):
        raise RuntimeError(f"{backend}: not every trial finished: {[r.status for r in runs]}")
    train = [read_metrics(run.path / "updates.csv")["train_time"][-1] for run in runs]
    return wall, float(np.mean(train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=512, help="env steps per trial")
    parser.add_argument("--workers", type=int, default=2, help="pool size and Ray CPUs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sweep-bench-"))

    def spec(name: str) -> SweepSpec:
        return SweepSpec(base={"num_envs": 4, "steps_per_update": 16,
                               "total_steps": args.steps, "eval_every": 0},
                         grid={"gamma": [0.9, 0.95, 0.99, 1.0]}, seeds=[0, 1, 2, 3],
                         out=folder / name)

    run_sweep(get_agent("reinforce"), SweepSpec(base=spec("").base, out=folder / "warm-up"),
              max_parallel=1)
    setups = [("sequential", "local", 1), (f"local pool of {args.workers}", "local",
                                           args.workers)]
    try:
        import ray  # noqa: F401
        setups.append((f"ray, {args.workers} CPUs", "ray", args.workers))
    except ImportError:
        print("ray is not installed (pip install 'rlbasics[ray]'): its row is left out\n")
    rows, reference, summaries = [], None, []
    for index, (name, backend, workers) in enumerate(setups):
        wall, train = timed_sweep(spec(f"{index}-{backend}"), backend, workers)
        summaries.append(summary(folder / f"{index}-{backend}").csv_text())
        throughput = TRIALS / wall
        reference = reference or throughput
        rows.append([name, f"{wall:.1f}", f"{throughput:.2f}", f"{throughput / reference:.2f}x",
                     f"{train:.2f}", f"{wall * workers / TRIALS - train:.2f}"])
    print(f"{TRIALS} trials of {args.steps} env steps (REINFORCE, CartPole-v1, 4 envs), "
          f"in {folder}")
    print(format_table(["backend", "wall s", "trials/s", "vs sequential", "train s/trial",
                        "overhead core-s/trial"], rows))
    print("identical results on every backend:", "yes" if len(set(summaries)) == 1 else "NO")


if __name__ == "__main__":
    main()
