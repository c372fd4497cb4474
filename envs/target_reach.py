"""One-step continuous control: put the action on a target."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs._validate import finite_array, finite_number


class TargetReachEnv(gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    The smallest continuous-control problem: one action a ∈ ℝ^d per episode, reward
    −‖a − target‖². A Gaussian policy a ~ N(μ, diag(σ²)) has the exact expected return

        J(μ, σ) = −Σ_i ((μ_i − target_i)² + σ_i²)

    (E[(a − c)²] = (μ − c)² + σ² per coordinate), maximised by μ = target, σ → 0: the case in
    which the REINFORCE gradient of a Gaussian policy can be checked by hand. The formula
    holds while the policy practically never leaves the action bounds (actions are clipped
    to them, which can only raise the reward since the target lies inside).

    ## Action Space

    ``Box(-action_bound, action_bound, shape=(d,), float32)``, d = the size of ``target``
    (1 by default). Actions outside the bounds are clipped; NaN or infinite actions raise
    ``ValueError``.

    ## Observation Space

    ``Box(-1, 1, shape=(1,), float32)``, always [0.0]: there is nothing to see.

    ## Rewards

    r = −Σ_i (clip(a_i) − target_i)², paid on the single step.

    ## Starting State

    Nothing is random: every episode is the same single decision.

    ## Episode End

    ### Termination
    After the one step of every episode.

    ### Truncation
    None: ``gym.make("rlbasics/TargetReach-v0")`` adds no time limit.

    ## Arguments

    | Parameter      | Type              | Default | Description                               |
    |----------------|-------------------|---------|-------------------------------------------|
    | `target`       | float or sequence | 1.0     | the best action; its size sets d          |
    | `action_bound` | float             | 5.0     | actions in [−bound, bound]^d; > abs(target) |

    The bound of 5 (not Gymnasium's recommended 1) keeps clipping negligible for the usual
    initial policy N(0, 1): P(|a| > 5) ≈ 6e-7.

    >>> env = TargetReachEnv(target=1.0)
    >>> obs, info = env.reset(seed=0)
    >>> env.step(np.array([3.0], dtype=np.float32))
    (array([0.], dtype=float32), -4.0, True, False, {})

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(self, target: Any = 1.0, action_bound: float = 5.0) -> None:
        target = finite_array("target", target)
        if target.ndim > 1 or target.size == 0:
            raise ValueError(
                f"target must be a number or a non-empty 1-D array, got shape {target.shape}"
            )
        action_bound = finite_number("action_bound", action_bound)
        if np.any(np.abs(target) >= action_bound):
            raise ValueError(
                f"target must lie strictly inside [-action_bound, action_bound] = "
                f"[{-action_bound}, {action_bound}], got {target.tolist()}"
            )
        self.target = np.atleast_1d(target)
        self.action_bound = action_bound
        self.action_space = spaces.Box(
            -action_bound, action_bound, shape=self.target.shape, dtype=np.float32
        )
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._terminated: bool | None = None  # None until the first reset

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._terminated = False
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._terminated is None:
            raise RuntimeError("call reset() before step()")
        if self._terminated:
            raise RuntimeError("the episode has terminated: call reset() before step()")
        action = np.asarray(action, dtype=np.float64)
        if action.size != self.target.size:
            raise ValueError(
                f"action must have shape {self.action_space.shape}, got {action.shape}"
            )
        if not np.all(np.isfinite(action)):
            raise ValueError(f"action must be finite, got {action.tolist()}")
        clipped = np.clip(action.reshape(self.target.shape), -self.action_bound, self.action_bound)
        reward = -float(np.sum((clipped - self.target) ** 2))
        self._terminated = True
        return np.zeros(1, dtype=np.float32), reward, True, False, {}
