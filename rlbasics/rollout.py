"""Collect steps or episodes from any Gymnasium env or vector env with any policy.

A *policy* is any callable mapping a batch of observations ``[N, *obs_shape]`` (numpy) to a batch
of actions ``[N, *action_shape]`` (numpy or torch), or to ``(actions, log_probs)`` with
``log_probs`` a torch tensor ``[N]`` (it may carry gradients; REINFORCE differentiates it).

`Collector` steps the env(s) and keeps the current observations between calls, so successive
batches continue the episodes in progress; `collect` is the one-shot form. One loop serves both
requests: ``steps=T`` returns a `Rollout` of T vector steps per env, ``episodes=E`` returns E
finished `Trajectory` episodes.

Auto-reset (Gymnasium 1.x, ``env.metadata["autoreset_mode"]``):

- ``NEXT_STEP`` (the default, e.g. ``gym.make_vec("CartPole-v1", vectorization_mode=...)``):
  the step after an episode's end is a reset step; its action is ignored and its reward and
  flags are fake. It is recorded as an invalid slot (``Rollout.valid`` False): zero transitions.
- ``SAME_STEP``: the env resets inside the ending step; the final observation comes from
  ``info["final_obs"]``. Every step is real.
- ``DISABLED``, and a single `gymnasium.Env` (N = 1): the collector resets finished envs itself.

Seeding: ``seed`` resets the env(s) once, with ``env.reset(seed=seed)`` (Gymnasium's sync and
async vector envs give sub-env i the seed ``seed + i``; a natively vectorised env such as
CartPole's draws every reset from one generator), and seeds the action space, so one seed
fixes the whole collection when the policy's own randomness is seeded too (`random_policy`
samples from the action space it is given).

Checks, each raising with the step and env index: a policy returning the wrong batch shape or
actions outside the action space (refused before the env sees them; never clipped: a Gaussian
policy clips itself); an env returning a non-finite observation (before the policy sees it)
or reward (when the batch is assembled).

Speed: per step the loop only calls the policy and the env, checks both with one vectorised
reduction each, and copies into preallocated time-major ``[T, N]`` buffers (contiguous
writes); the `Rollout`'s ``[N, T]`` arrays are transposed views of them (not C-contiguous;
``np.ascontiguousarray`` if that matters), and the validity mask and the episode totals are
derived once per batch. ``python benchmarks/rollout.py`` compares it with the raw loop.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rlbasics.trajectory import Rollout, Trajectory

__all__ = ["Collector", "collect", "random_policy"]

Policy = Callable[[np.ndarray], Any]
_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}


def random_policy(action_space: spaces.Space) -> Callable[[np.ndarray], np.ndarray]:
    """A policy drawing actions uniformly from ``action_space`` (one env's space), one per row.

    It samples with ``action_space.np_random``, so seeding the space (the collector seeds the
    env's own ``action_space`` / ``single_action_space``) makes it reproducible.

    >>> import numpy as np
    >>> space = gym.spaces.Discrete(3)
    >>> _ = space.seed(0)
    >>> random_policy(space)(np.zeros((5, 4))).shape
    (5,)
    """
    if isinstance(action_space, spaces.Discrete):

        def policy(observations: np.ndarray) -> np.ndarray:
            draws = action_space.np_random.integers(action_space.n, size=len(observations))
            return action_space.start + draws

    elif isinstance(action_space, spaces.Box) and action_space.is_bounded("both") and (
        np.issubdtype(action_space.dtype, np.floating)
    ):

        def policy(observations: np.ndarray) -> np.ndarray:
            size = (len(observations), *action_space.shape)
            draws = action_space.np_random.uniform(action_space.low, action_space.high, size)
            return draws.astype(action_space.dtype)

    else:

        def policy(observations: np.ndarray) -> np.ndarray:
            return np.stack([action_space.sample() for _ in range(len(observations))])

    return policy


class _SingleEnv:
    """A `gymnasium.Env` seen as a batch of one env, reset by the collector (like DISABLED)."""

    def __init__(self, env: gym.Env, batch_infos: bool) -> None:
        self.env, self.num_envs, self.batch_infos = env, 1, batch_infos
        # Reused every step: the collector copies them into its buffers at once.
        self._reward = np.zeros(1)
        self._terminated = np.zeros(1, dtype=bool)
        self._truncated = np.zeros(1, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        observation, info = self.env.reset(seed=seed)
        return np.asarray(observation)[None], _batch_info(info)

    def step(self, actions: np.ndarray) -> tuple:
        observation, reward, terminated, truncated, info = self.env.step(actions[0])
        self._reward[0], self._terminated[0], self._truncated[0] = reward, terminated, truncated
        if self.batch_infos:
            info = _batch_info(info)
        return np.asarray(observation)[None], self._reward, self._terminated, self._truncated, info


def _batch_info(info: dict[str, Any]) -> dict[str, Any]:
    """One env's info dict in Gymnasium's vector format, as a batch of one."""
    batched: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, dict):
            batched[key] = _batch_info(value)
        else:
            batched[key] = np.empty(1, dtype=object)
            batched[key][0] = value
        batched["_" + key] = np.ones(1, dtype=bool)
    return batched


def _action_checker(space: spaces.Space) -> tuple[str, Callable]:
    """The dtype kinds allowed for actions in ``space``, and a vectorised membership test
    returning None if a batch ``[N, *shape]`` lies inside the space, else the bool [N] of
    envs whose action does not."""
    if isinstance(space, spaces.Box):
        kinds = "iu" if np.issubdtype(space.dtype, np.integer) else "f"
        low, high = space.low, space.high
    elif isinstance(space, spaces.MultiBinary):
        kinds, low, high = "iub", 0, 1
    elif isinstance(space, spaces.Discrete):
        kinds, low, high = "iu", space.start, space.start + space.n - 1
    else:
        kinds, low, high = "iu", space.start, space.start + space.nvec - 1
    zero_low, scalar_high = not np.any(low), np.ndim(high) == 0

    def outside(actions: np.ndarray) -> np.ndarray | None:
        if zero_low and kinds != "f":  # one reduction: seen unsigned, negatives are huge
            unsigned = actions.view(_UNSIGNED[actions.itemsize])
            if (np.maximum.reduce(unsigned, axis=None) <= high if scalar_high
                    else np.all(unsigned <= high)):
                return None
        inside = (actions >= low) & (actions <= high)
        if kinds == "f":  # NaN fails both comparisons; ±inf passes an unbounded side only
            inside &= np.isfinite(actions)
        if inside.all():
            return None
        return ~inside.reshape(len(actions), -1).all(axis=1)

    return kinds, outside


class Collector:
    """Steps ``env`` with ``policy``, continuing the episodes in progress from call to call.

    Args:
        env: a `gymnasium.Env` (N = 1) or a `gymnasium.vector.VectorEnv` (N sub-envs) whose
            observation and action spaces are Box, Discrete, MultiDiscrete or MultiBinary.
        policy: observations ``[N, *obs_shape]`` → actions ``[N, *action_shape]`` (numpy or
            torch) or ``(actions, log_probs)`` with torch ``log_probs`` ``[N]``.
        seed: resets the env(s) with ``env.reset(seed=seed)`` and seeds the action space(s)
            before the first batch; None resets without a seed.
        keep_infos: keep every step's info dict (``Rollout.infos``, ``Trajectory.infos``).

    After an exception (a refused action, a non-finite observation) the envs are left
    mid-step: call `reset` before collecting again.

    >>> import gymnasium as gym
    >>> env = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point")
    >>> collector = Collector(env, random_policy(env.single_action_space), seed=0)
    >>> rollout = collector.collect(steps=32)      # 32 vector steps from each of the 4 envs
    >>> rollout.rewards.shape, rollout.observations.shape
    ((4, 32), (4, 32, 4))
    >>> episodes = collector.collect(episodes=3)   # 3 whole episodes (split over the envs)
    >>> [episode.terminated or episode.truncated for episode in episodes]
    [True, True, True]
    """

    def __init__(
        self, env: gym.Env | gym.vector.VectorEnv, policy: Policy, *, seed: int | None = None,
        keep_infos: bool = False,
    ) -> None:
        if isinstance(env, gym.vector.VectorEnv):
            self._env, self.num_envs = env, env.num_envs
            mode = env.metadata.get("autoreset_mode")
            if mode is None:
                warnings.warn(
                    f"{env} has no metadata['autoreset_mode']; assuming Gymnasium's default, "
                    "AutoresetMode.NEXT_STEP", stacklevel=2,
                )
            self._mode = AutoresetMode(mode or AutoresetMode.NEXT_STEP)
            self._action_spaces = (env.single_action_space, env.action_space)
            observation_space = env.single_observation_space
        elif isinstance(env, gym.Env):
            self._env, self.num_envs = _SingleEnv(env, batch_infos=bool(keep_infos)), 1
            self._mode = AutoresetMode.DISABLED
            self._action_spaces = (env.action_space,)
            observation_space = env.observation_space
        else:
            raise TypeError(
                "env must be a gymnasium.Env or gymnasium.vector.VectorEnv, got "
                f"{type(env).__name__}"
            )
        for name, space in (("observation", observation_space), ("action", self._action_spaces[0])):
            if not isinstance(space, _ARRAY_SPACES):
                raise TypeError(
                    f"the {name} space must be Box, Discrete, MultiDiscrete or MultiBinary, "
                    f"got {space}"
                )
        if not callable(policy):
            raise TypeError(f"policy must be callable, got {type(policy).__name__}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")
        self.env, self.policy, self.keep_infos = env, policy, bool(keep_infos)
        self._action_shape = (self.num_envs, *self._action_spaces[0].shape)
        self._action_kinds, self._actions_outside = _action_checker(self._action_spaces[0])
        self._seed = None if seed is None else int(seed)
        self._observations: np.ndarray | None = None  # None until the first reset

    def reset(self, seed: int | None = None) -> None:
        """Start a fresh episode in every env (``collect`` does this once, with the seed given
        to the constructor, before its first batch)."""
        observations, _ = self._env.reset(seed=seed)
        if seed is not None:
            for space in self._action_spaces:
                space.seed(seed)
        self._check_finite("reset", observation=observations)
        self._observations = observations
        n = self.num_envs
        self._reset_pending = np.zeros(n, dtype=bool)  # NEXT_STEP: next step is a reset step
        self._in_progress = np.zeros(n, dtype=bool)  # the current episode has taken steps
        self._episode_return = np.zeros(n)  # Σ r and step count of the episodes in progress
        self._episode_length = np.zeros(n, dtype=np.int64)

    def collect(
        self, *, steps: int | None = None, episodes: int | None = None, as_rollout: bool = False
    ) -> Rollout | list[Trajectory]:
        """Collect ``steps`` vector steps per env (→ `Rollout` ``[N, steps]``) or ``episodes``
        finished episodes (→ list of `Trajectory`, ordered by env then time; with
        ``as_rollout=True`` the `Rollout` they were cut from, whose ``valid`` mask marks
        exactly their steps and whose ``episode_returns`` are theirs, so a batch of whole
        episodes keeps its ``[N, T]`` layout).

        With ``episodes=E`` env i contributes the first ``E // N + (i < E % N)`` episodes that
        start in this call (a fixed quota per env, so short episodes are not favoured; the
        episode in progress when the call starts is run out and discarded). Episodes must end:
        wrap an env that never ends in `gymnasium.wrappers.TimeLimit`.
        """
        for name, value in (("steps", steps), ("episodes", episodes)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1
            ):
                raise ValueError(f"{name} must be None or an int >= 1, got {value!r}")
        if (steps is None) == (episodes is None):
            raise ValueError(
                "give exactly one of steps and episodes, got "
                f"steps={steps!r}, episodes={episodes!r}"
            )
        if self._observations is None:
            self.reset(self._seed)
        if steps is not None:
            return self._run(int(steps), quota=None)
        per_env, extra = divmod(int(episodes), self.num_envs)
        quota = per_env + (np.arange(self.num_envs) < extra)
        rollout = self._run(max(16, 2 * int(quota.max())), quota=quota)
        return rollout if as_rollout else rollout.episodes()

    def _run(self, capacity: int, quota: np.ndarray | None) -> Rollout:
        """The collection loop: ``capacity`` vector steps, or, with a per-env ``quota`` of
        episodes, until every env has finished its quota (the buffers grow as needed).

        Per step it calls the policy and the env, checks both and copies into the buffers;
        what follows from the flags alone is derived once per batch, in `_finish`.
        """
        env, mode, n = self._env, self._mode, self.num_envs
        selecting = quota is not None
        watch_ends = selecting or mode is not AutoresetMode.NEXT_STEP
        float_observations = self._observations.dtype.kind == "f"
        buffers = _Buffers(n, capacity, self._observations, selecting)
        observations, pending = self._observations, self._reset_pending
        none_pending = np.zeros(n, dtype=bool)
        finals: list[tuple[int, np.ndarray, np.ndarray]] = []  # (step, ended, final obs)
        log_probs: list[torch.Tensor] = []
        infos: list[dict[str, Any]] | None = [] if self.keep_infos else None
        if selecting:
            counted = np.zeros(n, dtype=np.int64)
            skip = self._in_progress.copy()  # episodes begun before this call are not taken
        t = 0
        while (counted < quota).any() if selecting else t < capacity:
            if selecting:
                buffers.valid[t] = ~pending & ~skip & (counted < quota)
            actions = self._act(observations, t, log_probs)
            next_observations, rewards, terminated, truncated, info = env.step(actions)
            # x·x is non-finite iff an entry is (or it overflowed: the exact check clears it);
            # one BLAS call, the cheapest reduction numpy offers.
            if float_observations and not math.isfinite(np.vdot(next_observations,
                                                                next_observations)):
                self._check_finite(f"step {t}", observation=next_observations)
            buffers.record(t, actions, rewards, terminated, truncated)
            if infos is not None:
                infos.append(info)
            # (one env: Python truth tests are far cheaper than array reductions)
            if watch_ends and (
                (terminated[0] or truncated[0]) if n == 1 else (terminated | truncated).any()
            ):
                ended = terminated | truncated
                if selecting:
                    counted += ended & buffers.valid[t]
                    skip &= ~ended
                if mode is AutoresetMode.SAME_STEP:
                    final = np.stack(info["final_obs"][ended])
                    self._check_finite(f"step {t}", **{"final observation": final})
                    finals.append((t, ended, final))
                elif mode is AutoresetMode.DISABLED:
                    finals.append((t, ended, next_observations[ended]))
                    next_observations, _ = env.reset(options={"reset_mask": ended})
                    self._check_finite(f"reset after step {t}", observation=next_observations)
                else:  # NEXT_STEP, selecting episodes: mark the coming reset steps
                    pending = ended
            elif mode is AutoresetMode.NEXT_STEP:
                pending = none_pending
            observations = next_observations
            buffers.observations[t + 1] = observations
            t += 1
            if selecting and t == capacity:
                capacity *= 2
                buffers.grow(capacity)
        self._observations = observations
        return self._finish(buffers, t, finals, log_probs, infos)

    def _finish(
        self, buffers: _Buffers, steps: int, finals: list, log_probs: list[torch.Tensor],
        infos: list[dict[str, Any]] | None,
    ) -> Rollout:
        """Turn ``steps`` vector steps of time-major buffers into a `Rollout` ``[N, T]`` (views:
        transposing would cost as much as the whole loop at 256 envs), and carry the state of
        the episodes in progress over to the next batch."""
        rewards = buffers.rewards[:steps]
        if not np.isfinite(rewards).all():
            step, env = np.argwhere(~np.isfinite(rewards))[0]
            raise ValueError(
                f"env {env} returned a non-finite reward at step {step}: {rewards[step, env]}"
            )
        terminated, truncated = buffers.terminated[:steps], buffers.truncated[:steps]
        ended = terminated | truncated
        real = np.ones_like(ended)  # False at NEXT_STEP reset steps
        if self._mode is AutoresetMode.NEXT_STEP:
            real[0] = ~self._reset_pending
            real[1:] = ~ended[:-1]
            self._reset_pending = ended[-1]
        self._in_progress = real[-1] & ~ended[-1]
        valid = real if buffers.valid is None else buffers.valid[:steps]
        kept_rewards = np.where(valid, rewards, 0.0)
        episode_returns, episode_lengths = self._episode_totals(
            kept_rewards if buffers.valid is None else np.where(real, rewards, 0.0), real, ended,
            valid,
        )
        next_observations = buffers.observations[1 : steps + 1].copy()
        for step, ended_now, final in finals:  # where an episode ended: its final observation
            next_observations[step, ended_now] = final
        stacked = None
        if log_probs:  # invalid slots get log-prob 0, and so no gradient
            stacked = torch.where(torch.from_numpy(valid.T), torch.stack(log_probs, dim=1), 0.0)
        return Rollout(
            observations=buffers.observations[:steps].swapaxes(0, 1),
            actions=buffers.actions[:steps].swapaxes(0, 1),
            rewards=kept_rewards.T,
            terminated=(terminated & valid).T,
            truncated=(truncated & valid).T,
            next_observations=next_observations.swapaxes(0, 1),
            valid=valid.T,
            log_probs=stacked,
            infos=infos,
            episode_returns=episode_returns,
            episode_lengths=episode_lengths,
        )

    def _episode_totals(
        self, rewards: np.ndarray, real: np.ndarray, ended: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Σ r and the number of steps of each episode that ended in this batch at a valid
        step (inputs ``[T, N]``, ``rewards`` 0 at reset steps), ordered by step then env,
        counted from its reset (what earlier batches carried over included); the totals of the
        episodes still running are carried on to the next batch."""
        steps, envs = np.nonzero(ended)  # ordered by step, then env: the output order
        by_env = np.lexsort((steps, envs))  # ordered by env, then step
        first_of_env = np.ones(len(envs), dtype=bool)
        first_of_env[1:] = envs[by_env][1:] != envs[by_env][:-1]
        last_of_env = np.ones(len(envs), dtype=bool)
        last_of_env[:-1] = first_of_env[1:]
        totals = []
        for carried, increments in ((self._episode_return, rewards), (self._episode_length, real)):
            running = np.cumsum(increments, axis=0, dtype=carried.dtype)
            running += carried  # totals since each env's last reset
            at_end = running[steps, envs][by_env]
            before = np.where(first_of_env, 0, np.roll(at_end, 1))
            carried[:] = running[-1]
            carried[envs[by_env][last_of_env]] -= at_end[last_of_env]
            total = np.empty_like(at_end)
            total[by_env] = at_end - before  # back to step-then-env order
            totals.append(total[valid[steps, envs]])
        return totals[0], totals[1]

    def _act(self, observations: np.ndarray, t: int, log_probs: list[torch.Tensor]) -> np.ndarray:
        """Call the policy and check what it returned; append its log-probs, if any."""
        output = self.policy(observations)
        if isinstance(output, tuple):
            if len(output) != 2 or not isinstance(output[1], torch.Tensor):
                raise TypeError(
                    "policy must return actions or a tuple (actions, log_probs) with log_probs "
                    f"a torch tensor, got a tuple of {[type(x).__name__ for x in output]}"
                )
            actions, step_log_probs = output
            if step_log_probs.shape != (self.num_envs,):
                raise ValueError(
                    f"policy returned log_probs of shape {tuple(step_log_probs.shape)}, expected "
                    f"({self.num_envs},) (one per env)"
                )
            if len(log_probs) != t:
                raise TypeError(f"policy returned log_probs at step {t} but not before")
            log_probs.append(step_log_probs)
        else:
            actions = output
            if log_probs:
                raise TypeError(f"policy returned log_probs before step {t} but not at it")
        if isinstance(actions, torch.Tensor):
            actions = actions.numpy(force=True)  # detached, on the CPU; no copy if it is
        elif isinstance(actions, np.generic):
            actions = np.asarray(actions)  # a numpy scalar: refused below by its shape
        elif not isinstance(actions, np.ndarray):
            raise TypeError(
                f"policy must return a numpy array or torch tensor of actions, got "
                f"{type(actions).__name__}"
            )
        if actions.shape != self._action_shape:
            raise ValueError(
                f"policy returned actions of shape {actions.shape} at step {t}, expected "
                f"{self._action_shape} (num_envs={self.num_envs}, one action per env)"
            )
        if actions.dtype.kind not in self._action_kinds:
            wanted = "floating-point" if self._action_kinds == "f" else "integer"
            raise TypeError(
                f"policy returned {actions.dtype} actions at step {t}; the action space "
                f"{self._action_spaces[0]} needs {wanted} actions"
            )
        outside = self._actions_outside(actions)
        if outside is not None:
            env = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"policy action {actions[env].tolist()} at step {t}, env {env} is outside the "
                f"action space {self._action_spaces[0]} (the collector never clips actions)"
            )
        return actions

    @staticmethod
    def _check_finite(when: str, **fields: np.ndarray) -> None:
        """Raise, naming the field and env, if a batch ``[N, ...]`` holds a NaN or ±inf."""
        for field, array in fields.items():
            array = np.asarray(array)
            if array.dtype.kind in "fc" and not np.isfinite(array).all():
                finite = np.isfinite(array.reshape(len(array), -1)).all(axis=1)
                env = int(np.flatnonzero(~finite)[0])
                raise ValueError(f"env {env} returned a non-finite {field} at {when}: {array[env]}")


class _Buffers:
    """Preallocated arrays for one batch, time-major ``[capacity, N, ...]`` so that each step
    writes contiguous memory; the `Rollout` gets ``[N, T]`` views of them. ``observations``
    has one row more (s_0 … s_T); ``valid`` exists only when the loop selects steps itself;
    the actions' dtype is the policy's."""

    def __init__(self, n: int, capacity: int, observations: np.ndarray, selecting: bool) -> None:
        shape = (capacity, n)
        self.observations = np.empty((capacity + 1, *observations.shape), observations.dtype)
        self.observations[0] = observations
        self.actions: np.ndarray | None = None
        self.rewards = np.empty(shape)
        self.terminated = np.empty(shape, dtype=bool)
        self.truncated = np.empty(shape, dtype=bool)
        self.valid = np.empty(shape, dtype=bool) if selecting else None

    def record(self, t: int, actions, rewards, terminated, truncated) -> None:
        if self.actions is None:
            self.actions = np.empty(self.rewards.shape + actions.shape[1:], actions.dtype)
        self.actions[t] = actions
        self.rewards[t] = rewards
        self.terminated[t] = terminated
        self.truncated[t] = truncated

    def grow(self, capacity: int) -> None:
        extra = capacity - len(self.rewards)
        for name in ("observations", "actions", "rewards", "terminated", "truncated", "valid"):
            array = getattr(self, name)
            grown = np.zeros((len(array) + extra, *array.shape[1:]), array.dtype)
            grown[: len(array)] = array
            setattr(self, name, grown)


def collect(
    env: gym.Env | gym.vector.VectorEnv, policy: Policy, *, steps: int | None = None,
    episodes: int | None = None, seed: int | None = None, keep_infos: bool = False,
) -> Rollout | list[Trajectory]:
    """One batch from fresh episodes: ``Collector(env, policy, seed=seed,
    keep_infos=keep_infos).collect(steps=steps, episodes=episodes)``.

    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1")
    >>> episodes = collect(env, random_policy(env.action_space), episodes=2, seed=0)
    >>> [len(episode) for episode in episodes] == [len(episode) for episode in
    ...     collect(env, random_policy(env.action_space), episodes=2, seed=0)]
    True
    """
    collector = Collector(env, policy, seed=seed, keep_infos=keep_infos)
    return collector.collect(steps=steps, episodes=episodes)
