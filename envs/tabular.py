"""Finite Markov decision processes built from arrays, and their exact model.

A ``TabularMDP`` is the general finite MDP; ``ShortCorridor``, ``Bandit`` and ``GridWorld``
are instances of it, so that ``env.unwrapped.model()`` hands an exact solver the very arrays
the environment samples from.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs._validate import finite_array, finite_number

OBSERVE_MODES = ("state", "none")

# Tolerance on "sums to 1": loose enough for probabilities typed by hand or stored in float32.
_SUM_TOLERANCE = 1e-6


class MDPModel(NamedTuple):
    """The arrays that define a ``TabularMDP``: everything an exact solver needs.

    =============  =============  ===================================================
    field          shape, dtype   meaning
    =============  =============  ===================================================
    transitions    [S, A, S] f64  P[s, a, s'] = Pr(s_{t+1} = s' | s_t = s, a_t = a)
    rewards        [S, A] f64     r(s, a) = E[r_t | s_t = s, a_t = a]
    initial        [S] f64        μ0[s] = Pr(s_0 = s)
    terminal       [S] bool       entering s ends the episode (terminated = True)
    observe        str            "state" (s_t is observed) or "none" (nothing is)
    =============  =============  ===================================================

    Terminal states are absorbing with zero reward (P[s, a, s] = 1, r(s, a) = 0), so
    V(s) = 0 on them whichever way a solver treats them.
    """

    transitions: np.ndarray
    rewards: np.ndarray
    initial: np.ndarray
    terminal: np.ndarray
    observe: str


class TabularMDP(gym.Env[int, int]):
    """
    ## Description

    A general finite Markov decision process given by arrays: S states, A actions,
    transition probabilities P[s, a, s'], rewards, an initial distribution μ0 and a set of
    terminal states. ``model()`` returns the arrays (an ``MDPModel``), so that the exact
    value of any policy can be computed, e.g. V^π = (I − γ P_π)⁻¹ r_π on the non-terminal
    states, and compared with what the environment actually produces.

    ## Action Space

    ``Discrete(A)``: the action index a ∈ {0, …, A−1}.

    ## Observation Space

    - ``observe="state"``: ``Discrete(S)``, the index of the current state.
    - ``observe="none"``: ``Discrete(1)``, always 0. Every state looks the same, a problem of
      partial observability where only a stochastic policy of the observation can be
      learned (see ``ShortCorridor``).

    ``info["state"]`` always holds the true state index (for analysis, not for agents).

    ## Rewards

    After a_t in s_t the environment samples s_{t+1} ~ P[s_t, a_t, ·] and pays
    r_t = R[s_t, a_t] when ``rewards`` has shape [S, A], or r_t = R[s_t, a_t, s_{t+1}] when it
    has shape [S, A, S]. Either way the reward is deterministic given the transition, and
    ``model().rewards`` is its expectation r(s, a) = Σ_s' P[s, a, s'] R[s, a, s'].
    Rewards given for terminal states are never paid (the episode is over) and the model
    reports them as 0.

    ## Starting State

    s_0 ~ μ0 (``initial``). μ0 must be 0 on terminal states: an episode has at least one step.

    ## Episode End

    ### Termination
    When s_{t+1} is a terminal state. Stepping a terminated episode raises ``RuntimeError``.

    ### Truncation
    Only by the ``TimeLimit`` wrapper: ``gym.make("rlbasics/TabularMDP-v0", ...)`` cuts
    episodes at 1000 steps (change it with ``max_episode_steps``). Exact values assume no
    time limit.

    ## Arguments

    | Parameter     | Type                 | Default   | Description                               |
    |---------------|----------------------|-----------|-------------------------------------------|
    | `transitions` | array [S, A, S]      | required  | P ≥ 0, each P[s, a, :] sums to 1          |
    | `rewards`     | array [S, A]/[S,A,S] | required  | R[s, a] or R[s, a, s'], finite            |
    | `initial`     | array [S]            | required  | μ0 ≥ 0, sums to 1, 0 on terminal states   |
    | `terminal`    | bool array [S]       | all False | which states end the episode when entered |
    | `observe`     | str                  | "state"   | "state" or "none"                         |

    Probabilities that sum to 1 within 1e-6 are renormalised. Rows of terminal states must be
    distributions too (any will do: they are never sampled, and ``model()`` reports them as
    absorbing with zero reward).

    >>> import numpy as np
    >>> P = np.zeros((2, 1, 2)); P[0, 0] = [0.5, 0.5]; P[1, 0, 1] = 1.0
    >>> env = TabularMDP(P, rewards=[[1.0], [0.0]], initial=[1.0, 0.0], terminal=[False, True])
    >>> env.reset(seed=0)
    (0, {'state': 0})
    >>> env.model().rewards.ravel().tolist()
    [1.0, 0.0]

    ## Version History

    * v0: Initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(
        self,
        transitions: Any,
        rewards: Any,
        initial: Any,
        terminal: Any = None,
        *,
        observe: str = "state",
    ) -> None:
        transitions = _probabilities("transitions", transitions, ndim=3)
        n_states, n_actions, n_next = transitions.shape
        if n_next != n_states:
            raise ValueError(
                f"transitions must have shape [S, A, S] (next state last), got {transitions.shape}"
            )
        rewards = finite_array("rewards", rewards)
        if rewards.shape not in ((n_states, n_actions), (n_states, n_actions, n_states)):
            raise ValueError(
                f"rewards must have shape [S, A] = {(n_states, n_actions)} or [S, A, S] = "
                f"{(n_states, n_actions, n_states)}, got {rewards.shape}"
            )
        initial = _probabilities("initial", initial, ndim=1)
        if initial.shape != (n_states,):
            raise ValueError(f"initial must have shape [S] = ({n_states},), got {initial.shape}")
        terminal = _terminal_mask(terminal, n_states)
        if np.any(initial[terminal] > 0):
            raise ValueError(
                "initial must be 0 on terminal states (an episode has at least one step), got "
                f"initial = {initial[terminal].tolist()} on terminal states "
                f"{np.flatnonzero(terminal).tolist()}"
            )
        if not isinstance(observe, str) or observe not in OBSERVE_MODES:
            raise ValueError(f"observe must be one of {OBSERVE_MODES}, got {observe!r}")

        # Terminal states are absorbing with zero reward: their rows are never sampled, and this
        # convention gives V = 0 on them to any solver.
        transitions[terminal] = np.eye(n_states)[terminal][:, None, :]
        rewards[terminal] = 0.0
        per_transition = rewards if rewards.ndim == 3 else rewards[..., None]
        self._transitions = transitions
        self._transition_rewards = np.broadcast_to(per_transition, transitions.shape).copy()
        self._expected_rewards = (
            rewards if rewards.ndim == 2 else np.einsum("sat,sat->sa", transitions, rewards)
        )
        self._initial = initial
        self._terminal = terminal
        self._observe = observe
        self._transition_cdf = _cumulative(transitions)
        self._initial_cdf = _cumulative(initial)

        self.action_space = spaces.Discrete(n_actions)
        self.observation_space = spaces.Discrete(n_states if observe == "state" else 1)
        self.state: int | None = None

    def model(self) -> MDPModel:
        """The MDP's arrays (fresh copies): P [S, A, S], r(s, a) [S, A], μ0 [S], terminal [S].

        >>> env = TabularMDP([[[1.0]]], rewards=[[2.0]], initial=[1.0])
        >>> env.model().transitions.shape, env.model().observe
        ((1, 1, 1), 'state')
        """
        return MDPModel(
            transitions=self._transitions.copy(),
            rewards=self._expected_rewards.copy(),
            initial=self._initial.copy(),
            terminal=self._terminal.copy(),
            observe=self._observe,
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = _sample(self._initial_cdf, self.np_random)
        return self._observation(), {"state": self.state}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if self._terminal[self.state]:
            raise RuntimeError("the episode has terminated: call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(
                f"action must be an integer in [0, {self.action_space.n}), got {action!r}"
            )
        state, action = self.state, int(action)
        next_state = _sample(self._transition_cdf[state, action], self.np_random)
        reward = self._reward(state, action, next_state)
        self.state = next_state
        terminated = bool(self._terminal[next_state])
        return self._observation(), reward, terminated, False, {"state": next_state}

    def _reward(self, state: int, action: int, next_state: int) -> float:
        """The reward paid for one transition (subclasses may sample it around its mean)."""
        return float(self._transition_rewards[state, action, next_state])

    def _observation(self) -> int:
        return self.state if self._observe == "state" else 0


def random_mdp(
    n_states: int,
    n_actions: int,
    *,
    seed: int,
    terminal_fraction: float = 0.25,
    termination_probability: float = 0.1,
    reward_std: float = 1.0,
    observe: str = "state",
) -> TabularMDP:
    """A random small MDP for tests, the same for the same arguments.

    The last n_T = max(1, round(terminal_fraction · S)) states are terminal (none when
    ``terminal_fraction`` is 0; at most S − 1). For every non-terminal state s and action a:

        P[s, a, ·] = (1 − q) · Dirichlet(1, …, 1) + q · Uniform(terminal states)
        R[s, a, s'] ~ N(0, reward_std²)

    with q = ``termination_probability``. Each step therefore ends the episode with
    probability at least q whatever the policy: every policy terminates with probability 1,
    an episode lasts at most 1/q steps in expectation, and V^π is finite even for γ = 1.
    Without terminal states the MDP is continuing (use γ < 1). μ0 ~ Dirichlet(1, …, 1) over
    the non-terminal states.

    >>> env = random_mdp(5, 2, seed=0)
    >>> model = env.model()
    >>> model.transitions.shape, model.terminal.tolist()
    ((5, 2, 5), [False, False, False, False, True])
    >>> bool(np.all(model.transitions[:4, :, 4] >= 0.1))
    True
    """
    for name, value, low in (("n_states", n_states, 1), ("n_actions", n_actions, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if not 0 <= finite_number("terminal_fraction", terminal_fraction) < 1:
        raise ValueError(f"terminal_fraction must be in [0, 1), got {terminal_fraction}")
    if not 0 < finite_number("termination_probability", termination_probability) <= 1:
        raise ValueError(
            f"termination_probability must be in (0, 1], got {termination_probability}"
        )
    if finite_number("reward_std", reward_std) < 0:
        raise ValueError(f"reward_std must be >= 0, got {reward_std}")
    n_terminal = 0 if terminal_fraction == 0 else max(1, round(terminal_fraction * n_states))
    n_terminal = min(n_terminal, n_states - 1)

    rng = np.random.default_rng(seed)
    n_live = n_states - n_terminal
    transitions = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    if n_terminal:
        transitions *= 1 - termination_probability
        transitions[..., n_live:] += termination_probability / n_terminal
    rewards = reward_std * rng.standard_normal((n_states, n_actions, n_states))
    initial = np.zeros(n_states)
    initial[:n_live] = rng.dirichlet(np.ones(n_live))
    terminal = np.arange(n_states) >= n_live
    return TabularMDP(transitions, rewards, initial, terminal, observe=observe)


def _probabilities(name: str, value: Any, ndim: int) -> np.ndarray:
    """``value`` as float64 probability distributions over its last axis (renormalised)."""
    array = finite_array(name, value)
    if array.ndim != ndim or array.size == 0:
        expected = "[S, A, S]" if ndim == 3 else "[S]"
        raise ValueError(f"{name} must be a non-empty array of shape {expected}, got {array.shape}")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 (probabilities), got min {array.min()}")
    sums = array.sum(axis=-1)
    bad = np.abs(sums - 1) > _SUM_TOLERANCE
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        index = ", ".join([*map(str, where), ":"])
        raise ValueError(
            f"{name} must sum to 1 over its last axis, but {name}[{index}] sums to "
            f"{sums[where]:.6g}"
        )
    return array / sums[..., None]


def _terminal_mask(terminal: Any, n_states: int) -> np.ndarray:
    if terminal is None:
        return np.zeros(n_states, dtype=bool)
    mask = np.array(terminal)
    if mask.dtype != np.bool_:
        raise TypeError(f"terminal must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != (n_states,):
        raise ValueError(f"terminal must have shape [S] = ({n_states},), got {mask.shape}")
    return mask


def _cumulative(probabilities: np.ndarray) -> np.ndarray:
    """Cumulative sums over the last axis, set to exactly 1 from each row's last possible
    outcome on, so that ``_sample`` (u in [0, 1)) never returns an outcome of probability 0."""
    cdf = np.cumsum(probabilities, axis=-1)
    n = probabilities.shape[-1]
    last_possible = n - 1 - np.argmax(probabilities[..., ::-1] > 0, axis=-1)
    cdf[np.arange(n) >= last_possible[..., None]] = 1.0
    return cdf


def _sample(cdf: np.ndarray, rng: np.random.Generator) -> int:
    """Inverse-CDF sampling: outcome i with probability cdf[i] − cdf[i − 1]."""
    return int(np.searchsorted(cdf, rng.random(), side="right"))
