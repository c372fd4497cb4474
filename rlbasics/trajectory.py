"""What an environment produced: one episode (`Trajectory`) or a batch of steps (`Rollout`).

A `Trajectory` is one episode τ = (s_0, a_0, r_0, s_1, …, s_{T−1}, a_{T−1}, r_{T−1}, s_T) laid out
along its first axis. A `Rollout` is what N parallel environments produced in T vector steps,
laid out ``[N, T]`` (time on the last axis of rewards and flags, as everywhere in rlbasics), with a
``valid`` mask so that the fake steps of Gymnasium's vector auto-reset stay aligned with the vector
steps without ever counting as transitions. `Rollout.episodes` cuts a Rollout into Trajectories.

Both are frozen dataclasses validated on construction: inconsistent lengths or shapes raise a
`ValueError` naming the field, never a wrong answer later. `rlbasics.rollout` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

__all__ = ["Rollout", "Trajectory"]


def _require_array(name: str, value: Any) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    return value


def _require_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One episode, or the part of it that was collected: T ≥ 1 steps t = 0 … T−1.

    ``observations[t]`` is s_t, ``actions[t]`` is a_t and ``rewards[t]`` is r_t, the reward
    received after taking a_t in s_t. ``observations[T]`` is s_T, the observation after the last
    step: a terminal state if ``terminated``, the state to bootstrap from, V(s_T), otherwise.

    Attributes:
        observations: ``[T + 1, *obs_shape]``, s_0 … s_T.
        actions: ``[T, *action_shape]``, a_0 … a_{T−1}.
        rewards: ``[T]`` float, r_0 … r_{T−1}.
        terminated: the episode ended in a terminal state after step T−1 (its future is 0).
        truncated: the episode was cut after step T−1 (a time limit; its future is V(s_T)).
            Neither flag: the episode was still running when collection stopped. Both: Gymnasium
            allows it; termination wins (the future is 0).
        log_probs: optional torch ``[T]``, log π(a_t|s_t) as the policy returned it (it may
            carry gradients).
        infos: optional list of T dicts, the ``info`` returned with each r_t.

    A Trajectory cut from a `Rollout` may begin in the middle of an episode that started in an
    earlier batch (``Rollout.episode_returns`` has the complete episode totals).

    >>> import numpy as np
    >>> episode = Trajectory(observations=np.zeros((4, 2)), actions=np.array([0, 1, 1]),
    ...                      rewards=np.array([1.0, 1.0, 1.0]), terminated=True, truncated=False)
    >>> len(episode), episode.finished, episode.total_reward
    (3, True, 3.0)
    >>> Trajectory(observations=np.zeros((3, 2)), actions=np.array([0, 1, 1]),
    ...            rewards=np.ones(3), terminated=True, truncated=False)
    Traceback (most recent call last):
    ...
    ValueError: observations must hold T + 1 = 4 observations (s_0 … s_T) for T = 3 rewards, got 3
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool
    truncated: bool
    log_probs: torch.Tensor | None = None
    infos: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        rewards = _require_array("rewards", self.rewards)
        if rewards.ndim != 1 or rewards.shape[0] < 1:
            raise ValueError(f"rewards must have shape [T] with T >= 1, got {rewards.shape}")
        steps = rewards.shape[0]
        observations = _require_array("observations", self.observations)
        if observations.ndim < 1 or observations.shape[0] != steps + 1:
            raise ValueError(
                f"observations must hold T + 1 = {steps + 1} observations (s_0 … s_T) for "
                f"T = {steps} rewards, got {observations.shape[0] if observations.ndim else 0}"
            )
        actions = _require_array("actions", self.actions)
        if actions.ndim < 1 or actions.shape[0] != steps:
            raise ValueError(
                f"actions must hold T = {steps} actions, got shape {actions.shape}"
            )
        object.__setattr__(self, "terminated", _require_flag("terminated", self.terminated))
        object.__setattr__(self, "truncated", _require_flag("truncated", self.truncated))
        if self.log_probs is not None and (
            not isinstance(self.log_probs, torch.Tensor) or self.log_probs.shape != (steps,)
        ):
            raise ValueError(
                f"log_probs must be None or a torch tensor of shape ({steps},), "
                f"got {self.log_probs!r}"
            )
        if self.infos is not None and len(self.infos) != steps:
            raise ValueError(f"infos must be None or hold T = {steps} dicts, got {len(self.infos)}")

    def __len__(self) -> int:
        return self.rewards.shape[0]

    @property
    def finished(self) -> bool:
        """True if the episode ended (terminated or truncated) at its last step."""
        return self.terminated or self.truncated

    @property
    def total_reward(self) -> float:
        """Σ_t r_t, the undiscounted sum of the rewards (G(τ) with γ = 1)."""
        return float(self.rewards.sum())


@dataclass(frozen=True, eq=False)
class Rollout:
    """T vector steps of N parallel environments, ``[N, T]``: row i is env i's stream of steps.

    Slot (i, t) is what env i did at vector step t. A row holds several episodes back to back:
    an episode ends after the slots where ``terminated`` or ``truncated`` is set. A slot with
    ``valid[i, t] = False`` is not a transition and must be masked out by every consumer: it is
    the step in which Gymnasium's ``NEXT_STEP`` auto-reset restarts env i (its action is ignored,
    its reward is fake), or a step `rlbasics.rollout` did not select. Invalid slots hold reward
    0, both flags False and log-prob 0 — harmless for ``returns.rewards_to_go``, which restarts
    after the flagged step before them. Their observations and actions are meaningless.
    (`rlbasics.rollout` hands out its arrays as transposed views of time-major storage: they
    are ``[N, T]`` but not C-contiguous.)

    Attributes:
        observations: ``[N, T, *obs_shape]``, s_t, what the policy saw.
        actions: ``[N, T, *action_shape]``, a_t, what the policy returned.
        rewards: ``[N, T]`` float64, r_t.
        terminated: ``[N, T]`` bool, the episode ended in a terminal state after step t.
        truncated: ``[N, T]`` bool, the episode was cut after step t (a time limit).
        next_observations: ``[N, T, *obs_shape]``, s_{t+1}, the observation the step returned:
            at an episode's end the final observation (never the reset one), so
            ``bootstrap = V(next_observations)`` is right wherever ``returns.rewards_to_go``
            uses it (truncated steps and each row's last step).
        valid: ``[N, T]`` bool, which slots are real transitions.
        log_probs: optional torch ``[N, T]``, log π(a_t|s_t) as returned by the policy (it may
            carry gradients), 0 at invalid slots.
        infos: optional list of T dicts, the info of each vector step in Gymnasium's vector
            format (``info[key][i]`` is env i's value where ``info["_" + key][i]``).
        episode_returns: ``[E]`` float64, Σ_t r_t of each episode that ended in this batch
            (ordered by the step it ended at, then env), counted from its reset (steps
            collected in earlier batches included).
        episode_lengths: ``[E]`` int64, their numbers of steps, in the same order.

    Rewards-to-go of every valid step, bootstrapped where episodes were cut::

        G = returns.rewards_to_go(rollout.rewards, gamma, terminated=rollout.terminated,
                                  truncated=rollout.truncated,
                                  bootstrap=V(rollout.next_observations))[rollout.valid]

    >>> import numpy as np
    >>> ones = np.ones((1, 3))
    >>> rollout = Rollout(observations=np.zeros((1, 3, 2)), actions=np.zeros((1, 3), int),
    ...                   rewards=ones, terminated=np.array([[True, False, False]]),
    ...                   truncated=np.zeros((1, 3), bool), next_observations=np.zeros((1, 3, 2)),
    ...                   valid=np.array([[True, False, True]]))
    Traceback (most recent call last):
    ...
    ValueError: invalid slots must hold reward 0 and no flag; env 0, step 1 has reward 1.0
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_observations: np.ndarray
    valid: np.ndarray
    log_probs: torch.Tensor | None = None
    infos: list[dict[str, Any]] | None = None
    episode_returns: np.ndarray = field(default_factory=lambda: np.zeros(0))
    episode_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def _assembled(cls, **values: Any) -> Rollout:
        """A Rollout of every field in ``values``, without the validation of construction:
        for `rlbasics.rollout`, which checked what it assembled (on a small batch the
        validation would cost as much as the rest of the assembly). Tests validate the
        Rollouts it builds (``dataclasses.replace(rollout)`` constructs one again)."""
        if values.keys() != _ROLLOUT_FIELDS:
            raise TypeError(f"Rollout._assembled needs the fields {sorted(_ROLLOUT_FIELDS)}")
        rollout = object.__new__(cls)
        vars(rollout).update(values)  # frozen: around the dataclass's __setattr__, as it does
        return rollout

    def __post_init__(self) -> None:
        rewards = _require_array("rewards", self.rewards)
        if rewards.ndim != 2 or 0 in rewards.shape:
            raise ValueError(f"rewards must have shape [N, T] with N, T >= 1, got {rewards.shape}")
        if not np.isfinite(rewards).all():
            env, step = np.argwhere(~np.isfinite(rewards))[0]
            raise ValueError(
                f"rewards must be finite; env {env}, step {step} has {rewards[env, step]}"
            )
        shape = rewards.shape
        for name in ("terminated", "truncated", "valid"):
            flags = _require_array(name, getattr(self, name))
            if flags.dtype != np.bool_ or flags.shape != shape:
                raise ValueError(
                    f"{name} must be a bool array of shape {shape}, got {flags.dtype} {flags.shape}"
                )
        for name in ("observations", "actions", "next_observations"):
            if _require_array(name, getattr(self, name)).shape[:2] != shape:
                raise ValueError(
                    f"{name} must have shape [N, T, ...] = {(*shape, '...')}, "
                    f"got {getattr(self, name).shape}"
                )
        if self.next_observations.shape != self.observations.shape:
            raise ValueError(
                f"next_observations must have the shape of observations {self.observations.shape}, "
                f"got {self.next_observations.shape}"
            )
        fake = ~self.valid & ((rewards != 0) | self.terminated | self.truncated)
        if fake.any():
            env, step = np.argwhere(fake)[0]
            raise ValueError(
                "invalid slots must hold reward 0 and no flag; "
                f"env {env}, step {step} has reward {rewards[env, step]}"
            )
        if self.log_probs is not None and (
            not isinstance(self.log_probs, torch.Tensor) or tuple(self.log_probs.shape) != shape
        ):
            raise ValueError(
                f"log_probs must be None or a torch tensor of shape {shape}, got {self.log_probs!r}"
            )
        if self.infos is not None and len(self.infos) != shape[1]:
            raise ValueError(
                f"infos must be None or hold T = {shape[1]} dicts, got {len(self.infos)}"
            )
        returns = _require_array("episode_returns", self.episode_returns)
        lengths = _require_array("episode_lengths", self.episode_lengths)
        if returns.ndim != 1 or lengths.shape != returns.shape:
            raise ValueError(
                "episode_returns and episode_lengths must be 1-D arrays of equal length, got "
                f"{returns.shape} and {lengths.shape}"
            )

    @property
    def num_envs(self) -> int:
        """N, the number of parallel environments (rows)."""
        return self.rewards.shape[0]

    @property
    def num_steps(self) -> int:
        """T, the number of vector steps (columns)."""
        return self.rewards.shape[1]

    @property
    def num_transitions(self) -> int:
        """The number of real transitions, the count of valid slots (≤ N·T)."""
        return int(self.valid.sum())

    def episodes(self) -> list[Trajectory]:
        """Cut the rows into their episodes: the maximal runs of valid slots, each ending at a
        terminated or truncated slot (a finished episode) or where the row's valid run stops
        (an unfinished one, ``finished`` False). Ordered by env, then by time.

        The first Trajectory of a row may continue an episode begun in an earlier batch.

        >>> import numpy as np
        >>> done = np.array([[False, True, False, False]])   # episode ends after step 1
        >>> valid = np.array([[True, True, False, True]])    # step 2 is an auto-reset step
        >>> rollout = Rollout(observations=np.arange(4.0).reshape(1, 4, 1),
        ...                   actions=np.zeros((1, 4), int),
        ...                   rewards=np.array([[1.0, 2.0, 0.0, 4.0]]),
        ...                   terminated=done, truncated=np.zeros((1, 4), bool),
        ...                   next_observations=np.arange(1.0, 5.0).reshape(1, 4, 1), valid=valid)
        >>> [(ep.rewards.tolist(), ep.terminated, ep.observations[:, 0].tolist())
        ...  for ep in rollout.episodes()]
        [([1.0, 2.0], True, [0.0, 1.0, 2.0]), ([4.0], False, [3.0, 4.0])]
        """
        valid = self.valid
        ended = (self.terminated | self.truncated) & valid
        before_valid = np.zeros_like(valid)
        before_valid[:, 1:] = valid[:, :-1]
        before_ended = np.zeros_like(ended)
        before_ended[:, 1:] = ended[:, :-1]
        after_valid = np.zeros_like(valid)
        after_valid[:, :-1] = valid[:, 1:]
        starts = np.argwhere(valid & (~before_valid | before_ended))
        stops = np.argwhere(valid & (ended | ~after_valid))
        episodes = []
        for (env, start), (_, stop) in zip(starts, stops, strict=True):
            steps = slice(start, stop + 1)
            episodes.append(
                Trajectory(
                    observations=np.concatenate(
                        (self.observations[env, steps], self.next_observations[env, stop][None])
                    ),
                    actions=self.actions[env, steps],
                    rewards=self.rewards[env, steps],
                    terminated=bool(self.terminated[env, stop]),
                    truncated=bool(self.truncated[env, stop]),
                    log_probs=None if self.log_probs is None else self.log_probs[env, steps],
                    infos=None
                    if self.infos is None
                    else [_env_info(self.infos[t], env) for t in range(start, stop + 1)],
                )
            )
        return episodes


_ROLLOUT_FIELDS = {f.name for f in fields(Rollout)}

def _env_info(vector_info: dict[str, Any], env: int) -> dict[str, Any]:
    """Env ``env``'s own info dict out of a Gymnasium vector info dict.

    With ``SAME_STEP`` auto-reset the step's own info is under ``final_info`` (the top level then
    holds the reset's info), so that one is returned.
    """
    mask = vector_info.get("_final_info")
    if mask is not None and mask[env]:
        return _env_info(vector_info["final_info"], env)
    info = {}
    for key, value in vector_info.items():
        if key.startswith("_") or not vector_info.get("_" + key, np.ones(env + 1, bool))[env]:
            continue
        info[key] = _env_info(value, env) if isinstance(value, dict) else value[env]
    return info
