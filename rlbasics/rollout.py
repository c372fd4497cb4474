"""Collect steps or episodes from any Gymnasium env or vector env with any policy.

A *policy* is any callable mapping a batch of observations ``[N, *obs_shape]`` (numpy) to a batch
of actions ``[N, *action_shape]`` (numpy or torch), or to ``(actions, log_probs)`` with
``log_probs`` a torch tensor ``[N]`` (it may carry gradients; REINFORCE differentiates it).

`Collector` steps the env(s) and keeps the current observations between calls, so successive
batches continue the episodes in progress; `collect` is the one-shot form. One request serves
both needs: ``steps=T`` returns a `Rollout` of T vector steps per env, ``episodes=E`` returns E
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

Checks, each raising a ``ValueError`` or ``TypeError`` that names the step and env: a policy
returning the wrong batch shape or dtype (refused at once), or actions outside the action
space (never clipped: a Gaussian policy clips itself); an env returning a non-finite
observation or reward. The last three are checked once per batch, over the whole batch, and
the earliest offence is reported: the env may already have been stepped with a bad action or
the policy fed a bad observation. If the env or the policy raises first (CartPole asserts
its actions are valid), the batch so far is checked and the offence it holds is raised, from
the original error.

Speed: per step the loop only calls the policy and the env and records what they returned: a
vector env's into preallocated time-major ``[T, N]`` buffers (contiguous writes), a single
env's into Python lists (`rlbasics._rollout_single`: appending is the cheapest record when a
step takes a few tens of µs). The `Rollout`'s ``[N, T]`` arrays are transposed views of the
time-major arrays (not C-contiguous; ``np.ascontiguousarray`` if that matters). The checks
(`rlbasics._rollout_checks`), the validity mask and the episode totals
(`rlbasics._rollout_batch`) are done once per batch, and the `Rollout` is not validated again.
``python benchmarks/rollout.py`` compares the collector with the raw ``env.step`` loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rlbasics._numbers import is_integer
from rlbasics._rollout_batch import Buffers, Carry, assemble, batch_info, final_observations
from rlbasics._rollout_checks import Checks, first_non_finite, non_finite_message
from rlbasics._rollout_single import SingleEnvSteps
from rlbasics.trajectory import Rollout, Trajectory

__all__ = ["Collector", "collect", "random_policy"]

Policy = Callable[[np.ndarray], Any]
_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


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
            self.num_envs = env.num_envs
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
            self.num_envs, self._mode = 1, AutoresetMode.DISABLED  # reset by the collector
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
            not is_integer(seed) or seed < 0
        ):
            raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")
        self.env, self.policy, self.keep_infos = env, policy, bool(keep_infos)
        self._single = not isinstance(env, gym.vector.VectorEnv)
        self._checks = Checks(self._action_spaces[0], self.num_envs, self._mode)
        self._seed = None if seed is None else int(seed)
        self._observations: np.ndarray | None = None  # None until the first reset

    def reset(self, seed: int | None = None) -> None:
        """Start a fresh episode in every env (``collect`` does this once, with the seed given
        to the constructor, before its first batch)."""
        observations, _ = self.env.reset(seed=seed)
        if self._single:
            observations = np.asarray(observations)[None]
        if seed is not None:
            for space in self._action_spaces:
                space.seed(seed)
        env = first_non_finite(observations)
        if env is not None:
            raise ValueError(non_finite_message(env, "observation", "reset", observations[env]))
        self._observations = observations
        self._carry = Carry.fresh(self.num_envs)

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
                not is_integer(value) or value < 1
            ):
                raise ValueError(f"{name} must be None or an int >= 1, got {value!r}")
        if (steps is None) == (episodes is None):
            raise ValueError(
                "give exactly one of steps and episodes, got "
                f"steps={steps!r}, episodes={episodes!r}"
            )
        if self._observations is None:
            self.reset(self._seed)
        run = self._run_single if self._single else self._run
        if steps is not None:
            return run(int(steps), quota=None)
        per_env, extra = divmod(int(episodes), self.num_envs)
        quota = per_env + (np.arange(self.num_envs) < extra)
        rollout = run(max(16, 2 * int(quota.max())), quota=quota)
        return rollout if as_rollout else rollout.episodes()

    def _run(self, capacity: int, quota: np.ndarray | None) -> Rollout:
        """The collection loop of a vector env: ``capacity`` vector steps, or, with a per-env
        ``quota`` of episodes, until every env has finished its quota (the buffers grow as
        needed).

        Per step it calls the policy and the env and copies into the buffers; what follows
        from the flags alone (`assemble`), and the checks, are done once per batch, after the loop.
        """
        env, policy, mode, n = self.env, self.policy, self._mode, self.num_envs
        checks = self._checks
        action_shape = checks.action_shape
        selecting = quota is not None
        watch_ends = selecting or mode is not AutoresetMode.NEXT_STEP
        buffers = Buffers.preallocated(capacity, self._observations, selecting)
        observations, pending = self._observations, self._carry.reset_pending
        none_pending = np.zeros(n, dtype=bool)
        finals: list[tuple[int, np.ndarray, np.ndarray]] = []  # (step, ended, final obs)
        log_probs: list[torch.Tensor] = []
        infos: list[dict[str, Any]] | None = [] if self.keep_infos else None
        if selecting:
            counted = np.zeros(n, dtype=np.int64)
            skip = self._carry.in_progress.copy()  # episodes begun before this call: not taken
        t, action_dtype = 0, None
        try:
            while (counted < quota).any() if selecting else t < capacity:
                if selecting:
                    buffers.valid[t] = ~pending & ~skip & (counted < quota)
                actions = None
                actions = policy(observations)
                if type(actions) is not np.ndarray or log_probs or actions.shape != action_shape:
                    actions = checks.actions(actions, t, log_probs)
                if actions.dtype is not action_dtype:  # the first step, or a new dtype
                    checks.action_dtype(actions, t)
                    buffers.adopt_action_dtype(action_dtype := actions.dtype, action_shape)
                buffers.actions[t] = actions
                observations, rewards, terminated, truncated, info = env.step(actions)
                buffers.rewards[t] = rewards
                buffers.terminated[t] = terminated
                buffers.truncated[t] = truncated
                if infos is not None:
                    infos.append(info)
                if watch_ends and (terminated | truncated).any():
                    ended = terminated | truncated
                    if selecting:
                        counted += ended & buffers.valid[t]
                        skip &= ~ended
                    if mode is AutoresetMode.SAME_STEP:
                        finals.append((t, ended, np.stack(info["final_obs"][ended])))
                    elif mode is AutoresetMode.DISABLED:
                        finals.append((t, ended, observations[ended]))
                        observations, _ = env.reset(options={"reset_mask": ended})
                    else:  # NEXT_STEP, selecting episodes: mark the coming reset steps
                        pending = ended
                elif selecting and mode is AutoresetMode.NEXT_STEP:
                    pending = none_pending
                t += 1
                buffers.observations[t] = observations
                if selecting and t == capacity:
                    capacity *= 2
                    buffers.grow(capacity)
        except Exception as error:
            checks.raise_first_problem(buffers, t, finals, actions, error)
            raise
        self._observations = observations
        next_observations, stacked_finals = final_observations(buffers, t, finals)
        actions = buffers.actions[:t]
        if not checks.looks_clean(actions.reshape(-1, *action_shape[1:]), buffers.rewards[:t],
                                  buffers.observations[1 : t + 1], stacked_finals):
            checks.raise_first_problem(buffers, t, finals)
        return assemble(buffers, t, next_observations, self._carry, log_probs=log_probs,
                        infos=infos, next_step=mode is AutoresetMode.NEXT_STEP)

    def _run_single(self, capacity: int, quota: np.ndarray | None) -> Rollout:
        """`_run` for a single `gymnasium.Env`, seen as a batch of one env that the collector
        resets itself, ``capacity`` steps or, with a ``quota``, until its episodes are done.
        Per step it only appends to the lists of a `SingleEnvSteps` (the cheapest record;
        see `rlbasics._rollout_single`); which steps an episodes request takes follows from
        where its episodes end, after the loop."""
        env, policy, checks = self.env, self.policy, self._checks
        action_shape, ndarray = checks.action_shape, np.ndarray
        scalar_actions = len(action_shape) == 1  # a_t is a numpy scalar: immutable, kept as is
        record = SingleEnvSteps(observations := self._observations)
        observation_dtype, ends = record.dtype, record.ends
        take_observation, take_action = record.observations.append, record.actions.append
        take_reward = record.rewards.append
        log_probs: list[torch.Tensor] = []
        infos: list[dict[str, Any]] | None = [] if self.keep_infos else None
        selecting = quota is not None
        skip = selecting and bool(self._carry.in_progress[0])  # begun before: not taken
        last_end = int(quota[0]) + skip if selecting else -1  # the end that stops the loop
        if selecting:
            capacity = -1  # until that end: the lists grow as needed
        t = 0  # the steps complete: s_{t+1} recorded
        actions = action_dtype = None
        try:
            while t != capacity:
                actions = policy(observations)
                if type(actions) is not ndarray or log_probs or actions.shape != action_shape:
                    actions = checks.actions(actions, t, log_probs)
                if actions.dtype is not action_dtype:  # the first step, or a new dtype
                    checks.action_dtype(actions, t)
                    record.note_action_dtype(action_dtype := actions.dtype)
                action = actions[0]
                observation, reward, terminated, truncated, info = env.step(action)
                take_action(action if scalar_actions else action.copy())
                take_reward(reward)
                if infos is not None:
                    infos.append(batch_info(info))
                if terminated or truncated:
                    final = record.checked(observation, t).tobytes()
                    ends.append((t, terminated, truncated, final))
                    observation = record.checked(env.reset()[0], t, reset=True)
                    if len(ends) == last_end:
                        capacity = t + 1  # the quota's last episode ended: stop after this step
                elif getattr(observation, "dtype", None) is not observation_dtype:
                    observation = record.checked(observation, t)
                take_observation(observation.tobytes())
                observations = observation[None]
                t += 1
        except Exception as error:
            record.truncate(t)
            buffers, finals = record.for_checks(action_shape[1:])
            checks.raise_first_problem(buffers, t, finals, actions, error)
            raise
        self._observations = observations
        return record.rollout(checks, self._carry, skip=skip, log_probs=log_probs, infos=infos)



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
