"""Env-steps per second of `rlbasics.rollout.Collector` against the raw ``env.step`` loop.

Both loops make the same policy calls on the same env from the same seeds (env reset and
action space); the raw loop does nothing else (no checks, no buffers, no auto-reset
bookkeeping), so the ratio is the collector's overhead. Issue 3's targets: the collector adds
≤ 15 % over the raw loop; with CartPole's native vector env, 256 envs and the MLP policy it
collects ≥ 400k steps/s.

Env-steps are counted as vector steps × N in both loops (NEXT_STEP reset steps included, as
the raw loop cannot tell them apart). Runs come in ``--repeats`` pairs, raw then collector and
collector then raw in turn,
each about ``--seconds`` long, timed in CPU time of this process (``time.process_time``: the
envs run in-process and torch on one thread, and CPU time is steadier than wall-clock time
on a shared machine); rates are medians and the overhead is the median over pairs of the
collector's time / the raw loop's time − 1 (compare ratios, not absolute rates across runs).
Where Linux lets a process count its own CPU instructions (``perf_event_open``), the table
also gives the collector's extra instructions, a measure of its work that the machine's
load does not change (it does not see cache misses: time can only be worse).

A second table times one MLP policy call (forward + sampling + numpy↔torch conversion) by
batch size under the options that matter for small-batch inference: grad mode,
``torch.inference_mode``, ``torch.set_num_threads(1)`` and the conversion functions.

    .venv/bin/python benchmarks/rollout.py [--seconds 0.1] [--repeats 15] [--no-calls]
        [--batch 128] [--only "single env"]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import math
import os
import platform
import struct
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlbasics.rollout import Collector, random_policy

BATCH = 128  # vector steps per Collector.collect call (a typical batch per update)
DEFAULT_THREADS = torch.get_num_threads()


class MLPPolicy:
    """64×64 tanh MLP → logits; samples a ∼ softmax(logits) by the Gumbel-max trick,
    argmax(logits + G) with G = −log(−log U), U ∼ Uniform(0, 1) (an exact categorical draw)."""

    def __init__(self, obs_dim: int, n_actions: int, *, grad: str = "inference_mode",
                 convert: str = "from_numpy") -> None:
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                                 nn.Linear(64, n_actions))
        self.mode = {"inference_mode": torch.inference_mode, "no_grad": torch.no_grad,
                     "grad": contextlib.nullcontext}[grad]
        self.convert = {"from_numpy": torch.from_numpy, "as_tensor": torch.as_tensor,
                        "tensor": torch.tensor}[convert]

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        with self.mode():
            logits = self.net(self.convert(observations))
            uniform = torch.rand_like(logits)
            return (logits - (-uniform.log()).log()).argmax(-1).detach().numpy()


def single_action_space(env) -> gym.Space:
    return env.single_action_space if isinstance(env, gym.vector.VectorEnv) else env.action_space


class InstructionCounter:
    """CPU instructions retired in user space by the calling thread, from Linux's
    ``perf_event_open`` (x86-64 and arm64). ``available`` is False elsewhere, or where the
    kernel refuses (``/proc/sys/kernel/perf_event_paranoid`` > 2, or a VM without counters)."""

    def __init__(self) -> None:
        self.fd = -1
        number = {"x86_64": 298, "aarch64": 241}.get(platform.machine())  # perf_event_open
        if platform.system() != "Linux" or number is None:
            return
        # struct perf_event_attr: type 0 (hardware), size, config 1 (instructions), then the
        # flag bits exclude_kernel (5) and exclude_hv (6) at byte offset 40; 128 bytes in all.
        attr = bytearray(128)
        struct.pack_into("IIQ", attr, 0, 0, len(attr), 1)
        struct.pack_into("Q", attr, 40, (1 << 5) | (1 << 6))
        buffer = ctypes.create_string_buffer(bytes(attr), len(attr))
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.syscall(number, buffer, 0, -1, -1, 0)

    @property
    def available(self) -> bool:
        return self.fd >= 0

    def read(self) -> int:
        return struct.unpack("q", os.read(self.fd, 8))[0]


INSTRUCTIONS = InstructionCounter()


def seed_everything(env) -> None:
    """The seeds `Collector.reset(0)` sets, so both loops draw the same actions."""
    for space in (single_action_space(env), env.action_space):
        space.seed(0)
    torch.manual_seed(0)


def raw_loop(env, policy: Callable, vector_steps: int, clock: Callable = time.process_time):
    """``clock`` units spent on ``vector_steps`` steps of the plain loop (a single env reset
    by hand)."""
    observations, _ = env.reset(seed=0)
    seed_everything(env)
    start = clock()
    if isinstance(env, gym.vector.VectorEnv):
        for _ in range(vector_steps):
            observations, _, _, _, _ = env.step(policy(observations))
    else:
        for _ in range(vector_steps):
            observation, _, terminated, truncated, _ = env.step(policy(observations[None])[0])
            observations = env.reset()[0] if terminated or truncated else observation
    return clock() - start


def collector_loop(env, policy: Callable, vector_steps: int, clock: Callable = time.process_time,
                   batch: int = BATCH):
    """``clock`` units spent on ``vector_steps`` steps through `Collector`, in batches of
    ``batch`` vector steps."""
    collector = Collector(env, policy, seed=0)
    collector.reset(0)
    torch.manual_seed(0)
    start = clock()
    for _ in range(vector_steps // batch):
        collector.collect(steps=batch)
    return clock() - start


def median_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free ``confidence`` interval for the median of ``values``: order
    statistics k and n + 1 − k (1-based), k the largest with P(Binomial(n, ½) < k) ≤ α/2,
    α = 1 − confidence; (NaN, NaN) when n is too small for one (n < 6 at 95 %).

    >>> median_interval(np.arange(31.0))
    (9.0, 21.0)
    """
    n, tail = len(values), (1 - confidence) / 2
    below = 0.0  # P(Binomial(n, ½) < k), for k = 1, 2, …
    k = 0
    while below + math.comb(n, k) / 2**n <= tail:
        below += math.comb(n, k) / 2**n
        k += 1
    if k == 0:
        return math.nan, math.nan
    ordered = np.sort(values)
    return float(ordered[k - 1]), float(ordered[n - k])


def compare(make_env: Callable, make_policy: Callable, seconds: float, repeats: int,
            batch: int = BATCH):
    """Median raw and collector steps/s over ``repeats`` back-to-back pairs of runs, the
    median over pairs of the collector's extra time (pairs share the momentary CPU load)
    with its 95 % interval (`median_interval`), and the extra instructions (one pair; NaN if
    they cannot be counted)."""
    env = make_env()
    n = getattr(env, "num_envs", 1)
    policy = make_policy(env)
    per_step = raw_loop(env, policy, batch) / batch
    vector_steps = max(batch, int(seconds / per_step) // batch * batch)
    collector = functools.partial(collector_loop, env, policy, vector_steps, batch=batch)
    raw, collected = [], []
    for repeat in range(repeats):  # each goes first in turn: neither gains from its place
        if repeat % 2:
            collected.append(collector())
        raw.append(raw_loop(env, policy, vector_steps))
        if not repeat % 2:
            collected.append(collector())
    instructions = np.nan
    if INSTRUCTIONS.available:
        instructions = (collector(INSTRUCTIONS.read)
                        / raw_loop(env, policy, vector_steps, INSTRUCTIONS.read) - 1)
    env.close()
    raw, collected = np.array(raw), np.array(collected)
    steps = n * vector_steps
    extra = collected / raw - 1
    return (steps / np.median(raw), steps / np.median(collected), np.median(extra),
            median_interval(extra), instructions)


def per_call(function: Callable, repeats: int, seconds: float = 0.01) -> tuple[float, float]:
    """µs per call of ``function``: best wall-clock time and median CPU time of this process
    (all threads) over ``repeats`` runs. On a shared machine the CPU time is the steadier."""
    calls = 1
    while True:  # find a call count lasting ``seconds``
        start = time.perf_counter()
        for _ in range(calls):
            function()
        if time.perf_counter() - start > seconds:
            break
        calls *= 4
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            function()
        wall.append((time.perf_counter() - start) / calls * 1e6)
        cpu.append((time.process_time() - start_cpu) / calls * 1e6)
    return min(wall), float(np.median(cpu))


def policy_call_table(repeats: int) -> None:
    """µs per MLP policy call by batch size, grad mode, conversion and torch thread count."""
    options = [
        ("grad enabled, from_numpy", dict(grad="grad")),
        ("no_grad, from_numpy", dict(grad="no_grad")),
        ("inference_mode, from_numpy", dict()),
        ("inference_mode, as_tensor", dict(convert="as_tensor")),
        ("inference_mode, torch.tensor (copy)", dict(convert="tensor")),
    ]
    sizes = (1, 16, 256)
    print(f"\nMLP policy call (forward + Gumbel-max sample + conversions), µs per call: best "
          f"wall-clock / median CPU time of {repeats} runs; torch's default threads here: "
          f"{DEFAULT_THREADS}")
    print(f"{'option':37s} {'threads':>7s} " + " ".join(f"{f'N={n}':>13s}" for n in sizes))
    for threads in sorted({DEFAULT_THREADS, 1}, reverse=True):
        torch.set_num_threads(threads)
        for name, kwargs in options:
            policy = MLPPolicy(4, 2, **kwargs)
            cells = []
            for n in sizes:
                observations = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
                wall, cpu = per_call(functools.partial(policy, observations), repeats)
                cells.append(f"{wall:6.0f} /{cpu:5.0f}")
            print(f"{name:37s} {threads:7d} " + " ".join(cells), flush=True)
    torch.set_num_threads(1)
    observations = np.zeros((256, 4), np.float32)
    actions = torch.zeros(256, dtype=torch.int64)
    print()
    for label, function in (
        ("torch.from_numpy(obs [256, 4])", lambda: torch.from_numpy(observations)),
        ("torch.as_tensor(obs [256, 4])", lambda: torch.as_tensor(observations)),
        ("actions.numpy() [256]", actions.numpy),
        ("actions.numpy(force=True) [256]", lambda: actions.numpy(force=True)),
        ("actions.detach().cpu().numpy() [256]", lambda: actions.detach().cpu().numpy()),
    ):
        wall, cpu = per_call(function, repeats)
        print(f"{label:37s} {wall:8.2f} / {cpu:.2f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.1, help="length of one timed run")
    parser.add_argument("--repeats", type=int, default=15, help="pairs of runs (medians taken)")
    parser.add_argument("--no-calls", action="store_true", help="skip the policy-call table")
    parser.add_argument("--batch", type=int, default=BATCH,
                        help="vector steps per Collector.collect call (the targets: 128)")
    parser.add_argument("--only", default="", help="the envs whose row name contains this")
    args = parser.parse_args()
    for name in ("batch", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if not args.seconds > 0:
        parser.error(f"--seconds must be > 0, got {args.seconds}")
    torch.set_num_threads(1)  # the policy-call table below shows why
    envs = [
        ("CartPole-v1, single env", lambda: gym.make("CartPole-v1")),
        ("CartPole-v1, 16 envs sync", lambda: gym.make_vec("CartPole-v1", 16,
                                                           vectorization_mode="sync")),
        ("CartPole-v1, native vector, 16", lambda: gym.make_vec(
            "CartPole-v1", 16, vectorization_mode="vector_entry_point")),
        ("CartPole-v1, native vector, 256", lambda: gym.make_vec(
            "CartPole-v1", 256, vectorization_mode="vector_entry_point")),
    ]

    envs = [(name, make) for name, make in envs if args.only in name]
    if not envs:
        parser.error(f"--only {args.only!r} matches no env row")
    policies = [
        ("random", lambda env: random_policy(single_action_space(env))),
        ("MLP 64x64", lambda env: MLPPolicy(4, 2)),
    ]
    load = os.getloadavg()[0]
    print(f"Env-steps per second (median of {args.repeats}; Collector batches of {args.batch} "
          f"vector steps; torch threads = {torch.get_num_threads()}; load average {load:.1f} "
          f"on {os.cpu_count()} cores)")
    print(f"{'env':32s} {'policy':10s} {'raw loop':>11s} {'collector':>11s} {'overhead':>9s} "
          f"{'95% interval':>15s} {'target':>7s} {'instr.':>7s}")
    for env_name, make_env in envs:
        for policy_name, make_policy in policies:
            raw, collected, overhead, (low, high), instructions = compare(
                make_env, make_policy, args.seconds, args.repeats, args.batch)
            print(f"{env_name:32s} {policy_name:10s} {raw:11,.0f} {collected:11,.0f} "
                  f"{overhead:+9.1%} {low:+7.1%}…{high:+6.1%} {'≤ +15%':>7s} "
                  f"{instructions:+7.1%}", flush=True)
    if envs[-1][0].endswith("256"):
        print(f"target: native vector env, 256 envs, MLP: collector ≥ 400,000 steps/s (the "
              f"row above: {collected:,.0f})")
    print("95% interval: of the median overhead, from the pairs of this run (the machine's "
          "state drifts between runs: they differ by more)")
    print("instr.: the collector's extra CPU instructions (perf_event_open; load-independent)")
    if not args.no_calls:
        policy_call_table(args.repeats)


if __name__ == "__main__":
    main()
