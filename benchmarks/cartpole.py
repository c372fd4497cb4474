"""How fast `agents.reinforce` solves CartPole-v1, against the classic PyTorch-example REINFORCE.

The protocol (issue 4; the README states it): after every update the greedy policy (argmax)
plays 20 episodes on separately seeded eval envs, and a run is *solved* at the first
evaluation whose mean return is ≥ 475 (CartPole-v1's reward threshold). The clock counts
training only (collection and learning; evaluation excluded) and starts after start-up: each
section first runs a warm-up (lazy imports, e.g. the torch machinery Adam loads on first use,
and numba loading its cached kernels), so the first timed run pays nothing the others do not.

Two clocks per run: *wall*, the history's ``train_time`` (what the protocol reports), and
*CPU*, the process CPU time of the same training code. On a machine shared with other jobs
the wall clock is inflated by whatever else runs; CPU time much less. Each seed runs the
classic reference (``classic_reinforce.py``, both at ``torch.set_num_threads(1)``) and then
our agent back to back, so both see the same momentary load: read the ratios. Medians count
an unsolved run as ∞. The header gives the load average and the CPU share stolen by other
VMs (/proc/stat) over the section.

    .venv/bin/python benchmarks/cartpole.py [--seeds 10] [--quick]
        [--set num_envs=32 --set lr=0.02 ...]   # measure another config (ReinforceConfig fields)
        [--acrobot] [--pendulum] [--grid] [--profile]

Sections: the greedy criterion with the classic reference (issue 4's targets: 10/10, median
≤ 0.5 s, ≥ 10× the classic); the stricter stochastic criterion (the sampling policy's
20-episode mean ≥ 475: 10/10 within 300k env steps, median ≤ 1.5 s); ``--acrobot``: Acrobot-v1,
greedy mean ≥ −100 in ≥ 4/5 seeds within 500k steps; ``--pendulum``: InvertedPendulum-v5
(MuJoCo: ``pip install mujoco imageio``), greedy mean 1000 (every episode balanced to its
time limit) in ≥ 3/5 seeds within 1M steps; ``--grid``: candidate defaults on held-out
seeds; ``--profile``: where one run's time goes. ``--acrobot`` and ``--pendulum`` run their
own config (ACROBOT, INVERTED_PENDULUM below), with ``--set`` changes on top.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import dataclasses
import itertools
import math
import os
import pstats
import time
from collections.abc import Sequence

import numpy as np
import torch
from classic_reinforce import train_classic

from agents.reinforce import Reinforce, ReinforceConfig, train

ACROBOT = ReinforceConfig(env_id="Acrobot-v1", num_envs=16, steps_per_update=256,
                          baseline="value", total_steps=500_000)
"""The Acrobot-v1 config reported by ``--acrobot`` (found with this script; see its table)."""
INVERTED_PENDULUM = ReinforceConfig(
    env_id="InvertedPendulum-v5", num_envs=16, steps_per_update=256, baseline="value",
    hidden_sizes=(64, 64), lr=0.003, value_lr=0.003, total_steps=1_000_000, stop_return=1000.0,
    eval_every=5,
)
"""The InvertedPendulum-v5 config reported by ``--pendulum``: a Gaussian policy, 4096 steps an
update, a learned baseline. Evaluated every 5 updates, not every one: an evaluation plays up
to 20 × 1000 MuJoCo steps, and the solve is reported at that resolution (20k steps)."""
TASKS = {  # flag: (config, criterion, target count of 5 seeds)
    "acrobot": (ACROBOT, "greedy 20-episode mean ≥ −100 (the reward threshold)", 4),
    "pendulum": (INVERTED_PENDULUM, "greedy 20-episode mean = 1000 (the time limit)", 3),
}
GRID = {"num_envs": (32, 64, 128), "steps_per_update": (8, 16, 32), "lr": (0.01, 0.02),
        "hidden_sizes": ((32, 32), (64, 64))}
GRID_SEEDS = range(100, 105)  # held out: the targets are measured on seeds 0-9


@dataclasses.dataclass
class Run:
    """One run at its solving update (or its last one, if unsolved)."""

    solved: bool
    env_steps: int
    wall: float  # training wall-clock, s
    cpu: float  # training CPU time, s
    eval_mean: float  # the last evaluation's mean return


def cpu_times() -> tuple[int, int] | None:
    """(all, stolen) jiffies of all CPUs since boot, from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal + idle + iowait, steal


class Load:
    """Load average at the start and end of a section, and the CPU share stolen meanwhile."""

    def __init__(self) -> None:
        self.start, self.jiffies = os.getloadavg(), cpu_times()

    def __str__(self) -> str:
        end, jiffies = os.getloadavg(), cpu_times()
        text = f"load avg {self.start[0]:.1f} → {end[0]:.1f} on {os.cpu_count()} cores"
        if jiffies is not None and self.jiffies is not None and jiffies[0] > self.jiffies[0]:
            stolen = (jiffies[1] - self.jiffies[1]) / (jiffies[0] - self.jiffies[0])
            text += f", {stolen:.0%} of CPU time stolen"
        return text


def run_agent(config: ReinforceConfig) -> Run:
    """`train` ``config``, timing each update's CPU time too (evaluations excluded)."""
    learner = Reinforce(config)
    update, cpu = learner.update, [0.0]

    def timed_update() -> dict[str, float]:
        start = time.process_time()
        row = update()
        cpu[0] += time.process_time() - start
        return row | {"cpu_time": cpu[0]}

    learner.update = timed_update
    result = train(config, learner=learner)
    return summarise(result.history, result.solved_at)


def run_classic(seed: int) -> Run:
    result = train_classic(seed)
    return summarise(result.history, result.solved_at)


def summarise(history: dict[str, list[float]], solved_at: int | None) -> Run:
    at = -1 if solved_at is None else solved_at
    evaluated = [value for value in history["eval_mean"] if not math.isnan(value)]
    return Run(solved_at is not None, int(history["env_steps"][at]),
               history["train_time"][at], history["cpu_time"][at],
               evaluated[-1] if evaluated else math.nan)


def warm_up(config: ReinforceConfig) -> None:
    """One update and one evaluation of a throw-away learner: imports, numba kernels."""
    learner = Reinforce(dataclasses.replace(config, seed=12_345))
    learner.update()
    learner.evaluate()


def median(runs: Sequence[Run], field: str) -> float:
    return float(np.median([getattr(run, field) if run.solved else math.inf for run in runs]))


def summary_row(name: str, runs: Sequence[Run], reference: Sequence[Run] | None = None) -> str:
    row = (f"{name:<34} {sum(run.solved for run in runs):>3}/{len(runs):<3}"
           f"{median(runs, 'env_steps'):>10,.0f} {median(runs, 'wall'):>8.2f} "
           f"{median(runs, 'cpu'):>8.2f}")
    if reference is not None:
        row += "".join(f" {median(reference, f) / median(runs, f):>8.1f}×" for f in ("wall", "cpu"))
    return row


SUMMARY_HEADER = (f"{'method':<34} {'solved':>7}{'med steps':>10} {'wall s':>8} {'CPU s':>8}"
                  f" {'vs classic (wall, CPU)':>20}")


def print_seeds(names: Sequence[str], seeds: Sequence[int], columns: Sequence[list[Run]]) -> None:
    """Per-seed env steps, wall and CPU seconds of each method (* = not solved)."""
    print(f"{'seed':>4}" + "".join(f" | {name:^27}" for name in names))
    print(f"{'':>4}" + f" | {'steps':>9} {'wall s':>8} {'CPU s':>8}" * len(names))
    for seed, runs in zip(seeds, zip(*columns, strict=True), strict=True):
        cells = "".join(f" | {run.env_steps:>8,}{' ' if run.solved else '*'} {run.wall:>8.2f} "
                        f"{run.cpu:>8.2f}" for run in runs)
        print(f"{seed:>4}{cells}")


def greedy_section(config: ReinforceConfig, seeds: Sequence[int], classic: bool) -> None:
    """Issue 4's main targets: our config against the classic reference, seed by seed."""
    warm_up(config)
    load = Load()
    ours: list[Run] = []
    reference: list[Run] = []
    for seed in seeds:
        if classic:
            torch.set_num_threads(1)  # Reinforce sets it too (num_threads=1); same footing
            reference.append(run_classic(seed))
        ours.append(run_agent(dataclasses.replace(config, seed=seed)))
    print(f"\nCartPole-v1, greedy criterion (20-episode mean ≥ 475), seeds "
          f"{seeds[0]}–{seeds[-1]}; {load}")
    names = (["classic"] if classic else []) + ["rlbasics"]
    print_seeds(names, seeds, ([reference] if classic else []) + [ours])
    print(SUMMARY_HEADER)
    if classic:
        print(summary_row("classic PyTorch-example REINFORCE", reference))
    print(summary_row(describe(config), ours, reference if classic else None))
    print("targets: 10/10 solved, median wall ≤ 0.5 s, ≥ 10× the classic")


def stochastic_section(config: ReinforceConfig, seeds: Sequence[int]) -> None:
    """The stricter criterion: the sampling policy's 20-episode mean ≥ 475 within 300k steps."""
    config = dataclasses.replace(config, eval_deterministic=False, total_steps=300_000)
    warm_up(config)
    load = Load()
    runs = [run_agent(dataclasses.replace(config, seed=seed)) for seed in seeds]
    print(f"\nCartPole-v1, stochastic criterion (sampled 20-episode mean ≥ 475, ≤ 300k steps); "
          f"{load}")
    print_seeds(["rlbasics"], seeds, [runs])
    print(SUMMARY_HEADER)
    print(summary_row(describe(config), runs))
    print("targets: 10/10 solved within 300k env steps, median wall ≤ 1.5 s")


def task_section(task: str, changes: dict, seeds: Sequence[int]) -> None:
    """Acrobot-v1 or InvertedPendulum-v5 (``task``), solved at the first evaluation reaching
    the target within the config's budget of env steps."""
    config, criterion, target = TASKS[task]
    config = dataclasses.replace(config, **changes)
    if config.env_id.startswith("InvertedPendulum"):
        try:
            import mujoco
        except ImportError:
            print(f"{config.env_id}: skipped, MuJoCo is not installed (pip install mujoco "
                  "imageio)")
            return
        print(f"MuJoCo {mujoco.__version__}")
    warm_up(config)
    load = Load()
    runs = [run_agent(dataclasses.replace(config, seed=seed)) for seed in seeds]
    print(f"\n{config.env_id}, {criterion}, ≤ {config.total_steps:,} steps; {load}")
    print_seeds(["rlbasics"], seeds, [runs])
    print(f"last evaluation means: {', '.join(f'{run.eval_mean:.1f}' for run in runs)}")
    print(SUMMARY_HEADER)
    print(summary_row(describe(config), runs))
    print(f"target: ≥ {target}/{len(seeds)} solved within {config.total_steps:,} env steps")


def grid_section(base: ReinforceConfig, seeds: Sequence[int]) -> None:
    """Every combination of GRID on held-out seeds, sorted by solved count then median CPU."""
    warm_up(base)
    load = Load()
    print(f"\nCartPole-v1 grid, greedy criterion, seeds {seeds[0]}–{seeds[-1]}, ≤ 100k steps "
          f"(rows as they finish, then sorted)\n{SUMMARY_HEADER}", flush=True)
    rows = []
    for values in itertools.product(*GRID.values()):
        config = dataclasses.replace(base, total_steps=100_000, **dict(zip(GRID, values,
                                                                           strict=True)))
        runs = [run_agent(dataclasses.replace(config, seed=seed)) for seed in seeds]
        rows.append((-sum(run.solved for run in runs), median(runs, "cpu"),
                     summary_row(describe(config, base), runs)))
        print(rows[-1][-1], flush=True)
    print(f"sorted by solved count, then median CPU; {load}")
    for *_, row in sorted(rows):
        print(row)


def profile_section(config: ReinforceConfig, seed: int) -> None:
    """cProfile the training updates of one run (evaluations not profiled)."""
    warm_up(config)
    learner = Reinforce(dataclasses.replace(config, seed=seed))
    profiler, update = cProfile.Profile(), learner.update

    def profiled_update() -> dict[str, float]:
        profiler.enable()
        try:
            return update()
        finally:
            profiler.disable()

    learner.update = profiled_update
    result = train(learner.config, learner=learner)
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # Σ own time = profiled time
    print(f"\nProfile of seed {seed}: {len(result.history['env_steps'])} updates, "
          f"{result.history['env_steps'][-1]:,} env steps, {total:.2f} s under cProfile "
          f"(which inflates many small calls); {Load()}")
    print(f"{'part (cumulative time)':<58} {'s':>7} {'share':>6}")
    for label, path, name in PROFILE_PARTS:
        seconds = sum(entry[3] for (file, _, function), entry in stats.stats.items()
                      if path in file and function == name)
        print(f"{label:<58} {seconds:>7.3f} {seconds / total:>6.1%}")
    print("\nTop functions by own time:")
    stats.sort_stats("tottime").print_stats(15)


PROFILE_PARTS = [  # (label, part of the file path, function); indented: part of the row above
    ("update (everything timed)", "agents/", "update"),
    ("  collection (Collector.collect)", "rlbasics/rollout.py", "collect"),
    ("    policy sampling + to_env (_Actor.__call__)", "agents/", "__call__"),
    ("      MLP forward (action_logits)", "rlbasics/policies.py", "action_logits"),
    ("    env step (CartPoleVectorEnv.step)", "classic_control/cartpole.py", "step"),
    ("    batch assembly (Collector._finish)", "rlbasics/rollout.py", "_finish"),
    ("  Ψ (policy_gradient_weights)", "agents/", "policy_gradient_weights"),
    ("    rewards_to_go (checks + numba kernel)", "rlbasics/returns.py", "rewards_to_go"),
    ("      input checks and views (_returns_inputs Batch.of)", "_returns_inputs.py", "of"),
    ("  γ^t step counter (_count_episode_steps)", "agents/", "_count_episode_steps"),
    ("  log π of the batch (policy.log_prob)", "rlbasics/policies.py", "log_prob"),
    ("    action checks (check_indices)", "rlbasics/networks.py", "check_indices"),
    ("  backward", "torch/_tensor.py", "backward"),
    ("  clip_grad_norm_ (max_grad_norm=inf)", "torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
    ("  Adam step", "torch/optim/adam.py", "step"),
]


def describe(config: ReinforceConfig, base: ReinforceConfig | None = None) -> str:
    """The fields where ``config`` differs from ``base`` (the defaults if None)."""
    base = base or ReinforceConfig(env_id=config.env_id)
    changed = [f"{f.name}={getattr(config, f.name)}" for f in dataclasses.fields(config)
               if getattr(config, f.name) != getattr(base, f.name) and f.name != "seed"]
    return ", ".join(changed) or "default config"


def parse_setting(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` → (KEY, the Python literal VALUE, or the string if it is none)."""
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 seeds, no stochastic section")
    parser.add_argument("--set", action="append", default=[], type=parse_setting,
                        metavar="KEY=VALUE", help="a ReinforceConfig field of the measured config")
    parser.add_argument("--no-classic", action="store_true", help="skip the classic reference")
    sections = {"acrobot": "Acrobot-v1 (5 seeds)",
                "pendulum": "InvertedPendulum-v5 (5 seeds; needs MuJoCo)",
                "grid": "the default-config grid",
                "profile": "profile one run (seed 0)"}
    for name, text in sections.items():
        parser.add_argument(f"--{name}", action="store_true", help=f"only {text}")
    args = parser.parse_args(argv)
    task = "acrobot" if args.acrobot else "pendulum" if args.pendulum else None
    if task is not None:
        torch.set_num_threads(1)
        task_section(task, dict(args.set), range(5))
        return
    config = ReinforceConfig(**dict(args.set))
    seeds = list(range(3 if args.quick else args.seeds))
    torch.set_num_threads(1)
    if args.profile:
        profile_section(config, 0)
    elif args.grid:
        grid_section(config, list(GRID_SEEDS))
    else:
        greedy_section(config, seeds, classic=not args.no_classic)
        if not args.quick:
            stochastic_section(config, seeds)


if __name__ == "__main__":
    main()
