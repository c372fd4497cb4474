"""`ReinforceConfig`: every switch and size of a REINFORCE run (`agents.reinforce`), checked
on construction, so that a bad value is refused before any env is made or file written.

>>> ReinforceConfig(num_envs=8, baseline="value").baseline
'value'
>>> ReinforceConfig(gamma=1.5)
Traceback (most recent call last):
...
ValueError: gamma must be a number in [0, 1], got 1.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rlbasics._numbers import is_integer, is_real

__all__ = ["ReinforceConfig"]


@dataclass(frozen=True)
class ReinforceConfig:
    """Everything that defines a REINFORCE run. Every field is validated on construction.

    The defaults solve CartPole-v1 (greedy 20-episode mean ≥ 475) in well under a second of
    training on 2 CPU cores: 64 native vector envs, 16 steps each per update, reward-to-go,
    normalised advantages, Adam at 0.01 (``python benchmarks/cartpole.py`` measures it).
    """

    env_id: str = "CartPole-v1"
    """Gymnasium id; our own envs as ``"envs:rlbasics/ShortCorridor-v0"``."""
    num_envs: int = 64
    """N parallel envs (Gymnasium's native vector env when the id has one, else sync)."""
    steps_per_update: int = 16
    """Vector steps per env per update (batch = N·steps transitions); used when
    ``episodes_per_update`` is 0. Episodes run across batches; the unfinished tail of a
    batch is bootstrapped with V (baseline="value") or 0."""
    episodes_per_update: int = 0
    """If > 0, each update collects this many complete fresh episodes instead (the textbook
    estimator; needed for weights="total_return")."""
    total_steps: int = 500_000
    """Budget of env steps (each sub-env step counts one)."""
    gamma: float = 0.99
    """Discount γ in [0, 1]."""
    weights: Literal["total_return", "reward_to_go"] = "reward_to_go"
    """Ψ_t before any baseline: G(τ) for every step, or the reward-to-go G_t."""
    baseline: Literal["none", "mean", "value"] = "none"
    """Subtracted from Ψ_t: nothing; the leave-one-out mean of the other episodes' Ψ in the
    batch; or a learned V_φ(s_t) (trained on its own MSE loss; no policy gradient reaches it)."""
    discount_weighting: bool = False
    """Multiply Ψ_t by γ^t, t counted from the episode's start (the unbiased estimator of the
    discounted objective's gradient). Common practice (False) drops it."""
    normalize_advantages: bool = True
    """Standardise Ψ over the batch's valid steps (a batch of one step gives Ψ = 0, never NaN)."""
    entropy_coef: float = 0.0
    """β ≥ 0 of the entropy bonus −β·mean H(π(·|s_t))."""
    max_grad_norm: float = math.inf
    """Clip the policy gradient's global norm to this (inf: no clipping)."""
    lr: float = 0.01
    """Adam learning rate of the policy."""
    anneal_lr: bool = False
    """Decay both learning rates linearly to 0 over ``total_steps`` (converges to a point
    instead of hovering around it: useful when the final policy itself is the answer)."""
    value_lr: float = 0.01
    """Adam learning rate of V_φ (baseline="value")."""
    value_steps: int = 1
    """Gradient steps on V_φ per update."""
    hidden_sizes: tuple[int, ...] = (32, 32)
    """Hidden layer widths of the policy and value MLPs (tabular envs use a table)."""
    activation: str = "tanh"
    """Hidden activation of the MLPs: tanh, relu, elu, gelu or silu."""
    seed: int = 0
    """Seeds the network init, the action sampling, and the envs."""
    device: str = "cpu"
    """Torch device of the networks."""
    num_threads: int = 1
    """torch.set_num_threads for the run (1 is fastest for small networks; 0 leaves torch's
    default). It is process-wide."""
    eval_every: int = 1
    """Evaluate every this many updates (0: never)."""
    eval_episodes: int = 20
    """Episodes per evaluation (one eval env each, seeded separately from training)."""
    eval_deterministic: bool = True
    """Evaluate the greedy policy (argmax / mean action) rather than sampling."""
    stop_return: float | None = None
    """Stop at the first evaluation whose mean return is ≥ this; None: the env's
    ``spec.reward_threshold`` (475 for CartPole-v1); nan: never stop early."""

    def __post_init__(self) -> None:
        def fail(name: str, allowed: str) -> None:
            raise ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}")

        if not isinstance(self.env_id, str) or not self.env_id:
            fail("env_id", "a non-empty Gymnasium env id")
        for name in ("num_envs", "total_steps", "value_steps", "eval_episodes"):
            if not is_integer(getattr(self, name), numpy=False) or getattr(self, name) < 1:
                fail(name, "an int >= 1")
        for name in ("steps_per_update", "episodes_per_update", "eval_every", "seed",
                     "num_threads"):
            if not is_integer(getattr(self, name), numpy=False) or getattr(self, name) < 0:
                fail(name, "an int >= 0")
        if self.steps_per_update == 0 and self.episodes_per_update == 0:
            fail("steps_per_update", ">= 1 when episodes_per_update is 0")
        if not is_real(self.gamma, numpy=False) or not 0.0 <= self.gamma <= 1.0:
            fail("gamma", "a number in [0, 1]")
        if self.weights not in ("total_return", "reward_to_go"):
            fail("weights", "'total_return' or 'reward_to_go'")
        if self.weights == "total_return" and self.episodes_per_update == 0:
            raise ValueError(
                "weights='total_return' needs whole episodes: set episodes_per_update >= 1 "
                "(a batch of steps cuts episodes, so G(τ) is not known)"
            )
        if self.baseline not in ("none", "mean", "value"):
            fail("baseline", "'none', 'mean' or 'value'")
        for name in ("lr", "value_lr"):
            value = getattr(self, name)
            if not is_real(value, numpy=False) or not 0 < value < math.inf:
                fail(name, "a finite number > 0")
        if not is_real(self.entropy_coef, numpy=False) or not 0 <= self.entropy_coef < math.inf:
            fail("entropy_coef", "a finite number >= 0")
        if not is_real(self.max_grad_norm, numpy=False) or not self.max_grad_norm > 0:
            fail("max_grad_norm", "a number > 0 (inf: no clipping)")
        for name in ("discount_weighting", "normalize_advantages", "eval_deterministic",
                     "anneal_lr"):
            if not isinstance(getattr(self, name), bool):
                fail(name, "True or False")
        if not isinstance(self.hidden_sizes, tuple) or not all(
            is_integer(width, numpy=False) and width >= 1 for width in self.hidden_sizes
        ):
            fail("hidden_sizes", "a tuple of ints >= 1")
        if self.stop_return is not None and not is_real(self.stop_return, numpy=False):
            fail("stop_return", "None or a number")
        if not isinstance(self.device, str):
            fail("device", "a torch device string such as 'cpu'")
