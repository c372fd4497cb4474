"""The k-armed bandit as a one-step episodic MDP."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs._validate import finite_array
from envs.tabular import TabularMDP

KINDS = ("bernoulli", "gaussian")


class BanditEnv(TabularMDP):
    """
    ## Description

    A k-armed bandit (Sutton & Barto 2018, ch. 2): each episode is one pull of one arm. It is
    the smallest policy-gradient problem: a policy π over the arms has expected return

        J(π) = Σ_a π(a) μ_a,

    and the REINFORCE estimate of ∇J uses a single reward per episode.

    As a ``TabularMDP`` it has two states, 0 (choose an arm) and 1 (done, terminal), so
    ``model()`` works; the model's rewards are the means μ_a, while the environment samples
    the random reward of the arm.

    ## Action Space

    ``Discrete(k)``: the arm to pull.

    ## Observation Space

    ``Discrete(1)``, always 0: there is nothing to see.

    ## Rewards

    - ``kind="bernoulli"``: r ~ Bernoulli(μ_a), i.e. 1 with probability μ_a, else 0.
    - ``kind="gaussian"``: r ~ N(μ_a, σ_a²).

    ## Starting State

    State 0.

    ## Episode End

    ### Termination
    After the one step of every episode.

    ### Truncation
    None: ``gym.make("rlbasics/Bandit-v0")`` adds no time limit (episodes last one step).

    ## Arguments

    | Parameter | Type              | Default          | Description                            |
    |-----------|-------------------|------------------|----------------------------------------|
    | `means`   | sequence of float | (0.2, 0.5, 0.8)  | μ_a, one per arm; in [0, 1] for Bernoulli |
    | `kind`    | str               | "bernoulli"      | "bernoulli" or "gaussian"              |
    | `stds`    | float or sequence | None (→ 1.0)     | σ_a ≥ 0, only with kind="gaussian"      |

    >>> env = BanditEnv(means=[0.0, 10.0], kind="gaussian", stds=0.0)
    >>> env.reset(seed=0)
    (0, {'state': 0})
    >>> env.step(1)
    (0, 10.0, True, False, {'state': 1})

    ## Version History

    * v0: Initial version.
    """

    def __init__(
        self, means: Any = (0.2, 0.5, 0.8), kind: str = "bernoulli", stds: Any = None
    ) -> None:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        means = finite_array("means", means)
        if means.ndim != 1 or means.size == 0:
            raise ValueError(
                f"means must be a non-empty 1-D array (one per arm), got shape {means.shape}"
            )
        n_arms = means.size
        if kind == "bernoulli":
            if stds is not None:
                raise ValueError("stds is only used with kind='gaussian', got kind='bernoulli'")
            if np.any((means < 0) | (means > 1)):
                raise ValueError(f"Bernoulli means must be in [0, 1], got {means.tolist()}")
        else:
            stds = finite_array("stds", 1.0 if stds is None else stds)
            if stds.shape not in ((), means.shape):
                raise ValueError(
                    f"stds must be a scalar or have shape {means.shape} (one per arm), "
                    f"got {stds.shape}"
                )
            stds = np.broadcast_to(stds, means.shape)
            if np.any(stds < 0):
                raise ValueError(f"stds must be >= 0, got {stds.tolist()}")
        self.means = means
        self.kind = kind
        self.stds = None if stds is None else stds.copy()

        transitions = np.zeros((2, n_arms, 2))
        transitions[:, :, 1] = 1.0  # every pull ends the episode
        rewards = np.stack([means, np.zeros(n_arms)])
        super().__init__(
            transitions, rewards, initial=[1.0, 0.0], terminal=[False, True], observe="none"
        )

    def _reward(self, state: int, action: int, next_state: int) -> float:
        if self.kind == "bernoulli":
            return float(self.np_random.random() < self.means[action])
        return float(self.means[action] + self.stds[action] * self.np_random.standard_normal())
