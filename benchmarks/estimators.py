"""Bias and variance of the REINFORCE gradient estimators, measured against the exact ∇J(θ).

For a fixed tabular softmax policy θ, `agents.estimators.gradient_estimates` draws M
independent estimates ĝ of ∇J(θ) per variant, each from E fresh episodes,

    ĝ = (1/E) Σ_{i=1}^{E} Σ_t ∇_θ log π_θ(a_t|s_t) · Ψ_t,

through the code the agent trains with, and `agents.estimators.estimator_statistics` compares
them with the exact gradient of `rlbasics.exact` (autograd through the Bellman linear solve):

    bias ± s.e.  ‖ĝ̄ − ∇J‖ and the standard error of ĝ̄, sqrt(tr Cov / M)
    tr Cov       the variance of one estimate, summed over the coordinates of θ
    cosine       the mean cosine between one estimate and ∇J (how often a batch points uphill)
    max |z|      max over coordinates of |ĝ̄ − ∇J| / (sd/√M): about |N(0, 1)| when unbiased

Two problems. GridWorld-v0 (Russell & Norvig's 4×3 world, 11 states × 4 actions, γ = 1; the
time limit is lifted to 10 000 steps so that it does not bias the returns) and a seeded random
MDP (`envs.tabular.random_mdp`, γ = 0.8, where dropping the γ^t factor biases the estimate).
The value baseline is the exact V^π (`rlbasics.exact.state_values`), the best fixed V.

Theory (`agents.reinforce`): every variant is unbiased except reward-to-go without γ^t when
γ < 1 (common practice), which estimates Σ_s η(s) Σ_a ∇π(a|s) Q(s, a) with the undiscounted
visit counts η in place of the discounted d^π. The verdict column flags max |z| ≥ 5.3
(probability 1.2e-7 per coordinate for an unbiased estimator, so a flag on an unbiased row is
a bug, not bad luck).

    .venv/bin/python benchmarks/estimators.py [--quick] [--batches M] [--episodes E] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401  (registers the rlbasics/ envs)
from agents.estimators import estimator_statistics, gradient_estimates
from envs.tabular import random_mdp
from rlbasics import exact
from rlbasics.policies import TabularSoftmaxPolicy

Z_BOUND = 5.3  # two-sided normal tail 1.2e-7, as in tests/test_reinforce_estimator.py


@dataclass(frozen=True)
class Variant:
    name: str
    options: dict[str, Any]
    """Keyword arguments of `gradient_estimates`: weights, baseline, discount_weighting, ..."""
    unbiased: bool
    """What the theory says."""


@dataclass(frozen=True)
class Problem:
    title: str
    env_id: str
    env_kwargs: dict[str, Any]
    model: Any
    logits: np.ndarray
    gamma: float

    def policy(self) -> TabularSoftmaxPolicy:
        policy = TabularSoftmaxPolicy(*self.logits.shape)
        with torch.no_grad():
            policy.logits.copy_(torch.as_tensor(self.logits))
        return policy

    def probabilities(self) -> torch.Tensor:
        return exact.policy_probabilities(self.logits)

    def variants(self) -> list[Variant]:
        """Total return, reward-to-go, and reward-to-go minus the leave-one-out batch mean or
        the exact V^π; for γ < 1 the reward-to-go variants with γ^t, and without it once."""
        values = exact.state_values(self.model, self.probabilities(), self.gamma).numpy()
        discounted = self.gamma < 1
        weighting = {"discount_weighting": True} if discounted else {}
        suffix = " · γ^t" if discounted else ""
        variants = [Variant("G(τ)", {"weights": "total_return"}, True)]
        if discounted:
            variants.append(Variant("G_t (no γ^t)", {}, False))
        return [
            *variants,
            Variant(f"G_t{suffix}", weighting, True),
            Variant(f"(G_t − mean){suffix}", {"baseline": "mean", **weighting}, True),
            Variant(f"(G_t − V^π){suffix}",
                    {"baseline": "value", "state_values": values, **weighting}, True),
        ]


def problems() -> list[Problem]:
    grid_id = "rlbasics/GridWorld-v0"
    grid = gym.make(grid_id).unwrapped.model()
    mdp = random_mdp(8, 3, seed=0, terminal_fraction=0.1, termination_probability=0.1).model()
    mdp_arrays = {name: getattr(mdp, name) for name in ("transitions", "rewards", "initial",
                                                         "terminal")}
    terminal = int(mdp.terminal.sum())
    return [
        Problem("GridWorld-v0, 11 states × 4 actions, γ = 1", grid_id,
                {"max_episode_steps": 10_000}, grid,
                np.random.default_rng(8).normal(scale=0.5, size=(11, 4)), 1.0),
        Problem(f"random_mdp(8, 3, seed=0): 8 states ({terminal} terminal) × 3 actions, γ = 0.8",
                "rlbasics/TabularMDP-v0", mdp_arrays | {"max_episode_steps": 10_000}, mdp,
                np.random.default_rng(3).normal(size=(8, 3)), 0.8),
    ]


def measure(problem: Problem, batches: int, episodes: int, seed: int) -> None:
    truth = exact.exact_gradient(problem.model, problem.logits, problem.gamma).numpy().ravel()
    # η(s) = Σ_t Pr(s_t = s) at γ = 1 sums to the expected episode length
    length = float(exact.discounted_visitation(problem.model, problem.probabilities(), 1.0).sum())
    objective = float(exact.expected_return(problem.model, problem.probabilities(), problem.gamma))
    print(f"\n{problem.title}")
    print(f"  ‖∇J‖ = {np.linalg.norm(truth):.4f}, J = {objective:.4f}, "
          f"episodes last {length:.1f} steps on average")
    print(f"  {'variant':22} {'theory':>8} {'bias ± s.e.':>17} {'tr Cov':>10} {'cosine':>7} "
          f"{'max |z|':>8} {'verdict':>8} {'seconds':>8}")
    for variant in problem.variants():
        start = time.perf_counter()
        estimates = gradient_estimates(
            problem.env_id, problem.policy(), gamma=problem.gamma, batches=batches,
            episodes_per_batch=episodes, seed=seed, env_kwargs=problem.env_kwargs,
            **variant.options,
        )
        seconds = time.perf_counter() - start
        stats = estimator_statistics(estimates, truth)
        theory = "unbiased" if variant.unbiased else "biased"
        shown = "biased" if stats.max_abs_z >= Z_BOUND else "ok"
        bias = f"{stats.bias:.4f} ± {stats.bias_standard_error:.4f}"
        print(f"  {variant.name:22} {theory:>8} {bias:>17} {stats.variance:10.4f} "
              f"{stats.cosine:7.3f} {stats.max_abs_z:8.2f} {shown:>8} {seconds:8.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=1000, help="M, estimates per variant")
    parser.add_argument("--episodes", type=int, default=10, help="E, episodes per estimate")
    parser.add_argument("--seed", type=int, default=0, help="seeds the envs and the sampling")
    parser.add_argument("--quick", action="store_true", help="M = 200, E = 5 (a smoke run)")
    args = parser.parse_args(argv)
    batches, episodes = (200, 5) if args.quick else (args.batches, args.episodes)
    if batches < 2 or episodes < 1:  # a variance needs two estimates
        parser.error(f"need --batches >= 2 and --episodes >= 1, got {batches} and {episodes}")
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest
    command = shlex.join(sys.argv if argv is None else [sys.argv[0], *argv])
    print(f"$ {command}")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; M = {batches} "
          f"estimates of E = {episodes} episodes per variant, seed {args.seed}")
    print(f"verdict: 'biased' where max |z| ≥ {Z_BOUND} (1.2e-7 per coordinate by chance)")
    for problem in problems():
        measure(problem, batches, episodes, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
