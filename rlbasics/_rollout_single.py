"""The single-env side of `rlbasics.rollout`: what its loop records, and the Rollout made of it.

A single `gymnasium.Env`'s step takes a few tens of µs, so every Python operation the
collector adds per step shows, and so does every numpy call per batch: after 128 env steps
numpy's code is out of the CPU's caches, and each call costs several µs. The loop therefore
appends to Python lists only (`SingleEnvSteps`): s_t as bytes (``ndarray.tobytes``, a copy
taken at once, so an env may reuse its arrays), a_t (a numpy scalar, or an array copied), r_t,
and per episode end (t, terminated, truncated, final observation); `SingleEnvSteps.rollout`
makes the batch's `Rollout` ``[1, T]`` directly, in about twenty numpy calls (one join of all
the observation bytes, one array per field, two whole-batch checks: the actions in the action
space, the observations finite), and the episode totals are list sums (`single_env_totals`),
which also tell whether every reward is finite.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import torch

from rlbasics._rollout_batch import Buffers, Carry, masked_log_probs
from rlbasics._rollout_checks import Checks
from rlbasics.trajectory import Rollout

_ONE_ENV = np.ones(1, dtype=bool)  # which envs ended, for a single env (never written to)


class SingleEnvSteps:
    """The steps of one batch from a single env, starting from ``first`` (s_0, ``[1, *shape]``).

    The loop appends to ``observations`` (s_1 … s_T as ``tobytes()`` of arrays of the dtype of
    s_0: `checked` makes sure of it), ``actions``, ``rewards`` and ``ends``
    ((t, terminated, truncated, final observation bytes) for each step t that ended an
    episode; the observation recorded for t is then the reset's), and calls
    `note_action_dtype` whenever the policy's action dtype changes. A step is complete once
    its s_{t+1} is recorded; `truncate` drops an incomplete one.
    """

    def __init__(self, first: np.ndarray) -> None:
        self.dtype, self.shape = first.dtype, first.shape[1:]
        self.row_bytes = first.nbytes
        self.observations: list[bytes] = [first.tobytes()]
        self.actions: list[Any] = []
        self.rewards: list[Any] = []
        self.ends: list[tuple[int, Any, Any, bytes]] = []
        self.action_dtype: np.dtype | None = None  # holds every a_t exactly
        self.one_action_dtype = True  # every a_t has that dtype

    def note_action_dtype(self, dtype: np.dtype) -> None:
        """The policy returned actions of ``dtype``, at the first step or since it changed:
        ``action_dtype`` becomes the promotion of all so far (never wrapping a value)."""
        if self.action_dtype is not None:
            self.one_action_dtype = False
            dtype = np.promote_types(self.action_dtype, dtype)
        self.action_dtype = dtype

    def checked(self, observation: Any, step: int, reset: bool = False) -> np.ndarray:
        """``observation``, returned by step ``step`` (or by the reset after it), as an array
        of s_0's dtype: as it is if it has that dtype (its shape is checked once per batch,
        by size), else cast safely or refused with an error naming the step."""
        if getattr(observation, "dtype", None) is self.dtype:
            return observation
        where = f"the reset after step {step}" if reset else f"step {step}"
        array = np.asarray(observation)
        if array.shape != self.shape:
            raise ValueError(self._shape_message(f"of shape {array.shape}", where))
        if not np.can_cast(array.dtype, self.dtype, "same_kind"):
            raise TypeError(
                f"env 0 returned a {array.dtype} observation at {where}; the first observation "
                f"was {self.dtype}"
            )
        return array.astype(self.dtype)

    def truncate(self, steps: int) -> None:
        """Keep the first ``steps`` complete steps (after an error in the middle of a step)."""
        del self.observations[steps + 1 :], self.actions[steps:], self.rewards[steps:]
        self.ends = [end for end in self.ends if end[0] < steps]

    def _shape_message(self, description: str, where: str) -> str:
        return (f"env 0 returned an observation {description} at {where}, expected shape "
                f"{self.shape} (the shape of the first)")

    def _observation_rows(self) -> np.ndarray:
        """s_0 … s_T, then the final observations of the episodes that ended, as one writable
        array ``[1, T + 1 + E, *shape]``; a row of another size (an observation of another
        shape) is refused, naming the step (or the reset) that returned it."""
        rows = self.observations + [final for _, _, _, final in self.ends]
        joined = bytearray().join(rows)
        if len(joined) != len(rows) * self.row_bytes:
            row = next(i for i, data in enumerate(rows) if len(data) != self.row_bytes)
            end_steps = [step for step, _, _, _ in self.ends]
            steps = len(self.observations) - 1
            where = (f"step {end_steps[row - steps - 1]}" if row > steps  # a final observation
                     else f"the reset after step {row - 1}" if row - 1 in end_steps
                     else f"step {row - 1}")
            size = len(rows[row]) // self.dtype.itemsize
            raise ValueError(self._shape_message(f"of {size} elements", where))
        return np.frombuffer(joined, self.dtype).reshape(1, len(rows), *self.shape)

    def _arrays(self, action_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """The batch as writable arrays, env-major: observations ``[1, T + 1 + E, ...]``
        (`_observation_rows`), actions ``[1, T, *action_shape]``, rewards ``[1, T]`` float64,
        terminated and truncated ``[1, T]`` (False except at ``ends``), and a valid mask
        ``[1, T]``, all True (made with the flags: one numpy call fewer)."""
        count = len(self.rewards)
        dtype = self.action_dtype or np.dtype(np.int64)
        if count and action_shape:
            actions = np.stack(self.actions).astype(dtype, copy=False)
        elif self.one_action_dtype:  # numpy scalars of that dtype: their bytes, joined
            actions = np.frombuffer(bytearray().join(self.actions), dtype)
        else:
            actions = np.fromiter(self.actions, dtype, count)
        flags = bytearray(2 * count) + b"\x01" * count  # terminated, truncated, valid
        for step, terminated, truncated, _ in self.ends:
            flags[step], flags[count + step] = bool(terminated), bool(truncated)
        terminated, truncated, valid = np.frombuffer(flags, bool).reshape(3, 1, count)
        return (self._observation_rows(), actions.reshape(1, count, *action_shape),
                self._rewards().reshape(1, count), terminated, truncated, valid)

    def _rewards(self) -> np.ndarray:
        """r_t as float64 ``[T]``, each a real number: packing them as C doubles refuses None
        and strings (``np.fromiter`` would make None a NaN and "1" a 1.0)."""
        packed = bytearray(8 * len(self.rewards))
        try:
            struct.pack_into(f"{len(self.rewards)}d", packed, 0, *self.rewards)
        except struct.error:
            for step, reward in enumerate(self.rewards):
                try:
                    struct.pack("d", reward)
                except struct.error:
                    raise TypeError(f"env 0 returned a reward that is not a real number at step "
                                    f"{step}: {reward!r}") from None
            raise
        return np.frombuffer(packed)

    def for_checks(
        self, action_shape: tuple[int, ...]
    ) -> tuple[Buffers, list[tuple[int, np.ndarray, np.ndarray]]]:
        """The batch as `rlbasics._rollout_checks.Checks.first_problem` takes it: time-major
        `Buffers` ``[T, 1, ...]`` and the final observations as (t, ended [1], observation
        ``[1, ...]``)."""
        observations, actions, rewards, terminated, truncated, _ = self._arrays(action_shape)
        steps = len(self.observations)
        buffers = Buffers(observations[:, :steps].swapaxes(0, 1), actions.swapaxes(0, 1),
                          rewards.T, terminated.T, truncated.T, action_dtype=self.action_dtype)
        finals = [(step, _ONE_ENV, observations[:, steps + i])
                  for i, (step, _, _, _) in enumerate(self.ends)]
        return buffers, finals

    def rollout(
        self, checks: Checks, carry: Carry, *, skip: bool, log_probs: list[torch.Tensor],
        infos: list[dict[str, Any]] | None,
    ) -> Rollout:
        """The checked `Rollout` ``[1, T]`` of the batch. ``skip``: the steps up to the first
        end finish an episode begun before this batch (an episodes request does not take them:
        invalid, zeroed); ``carry`` is brought up to date."""
        action_shape = checks.action_shape[1:]
        observations, actions, rewards, terminated, truncated, valid = self._arrays(action_shape)
        count = len(self.rewards)
        end_steps = [step for step, _, _, _ in self.ends]
        episode_returns, episode_lengths, finite_rewards = single_env_totals(
            rewards[0].tolist(), end_steps, carry, skip)
        if not (finite_rewards and checks.looks_clean(actions[0], observations[:, 1:])):
            buffers, finals = self.for_checks(action_shape)
            checks.raise_first_problem(buffers, count, finals)
        next_observations = observations[:, 1 : count + 1]
        if end_steps:  # the final observations in place of the resets' (rows of checked size)
            rows = self.observations[1:]
            for step, _, _, final in self.ends:
                rows[step] = final
            next_observations = np.frombuffer(bytearray().join(rows), self.dtype).reshape(
                next_observations.shape)
        if skip:  # the steps up to the first end finish an episode begun before: not taken
            taken = end_steps[0] + 1
            valid[0, :taken] = terminated[0, :taken] = truncated[0, :taken] = False
            rewards[0, :taken] = 0.0
        carry.in_progress[0] = not end_steps or end_steps[-1] != count - 1
        return Rollout._assembled(
            observations=observations[:, :count],
            actions=actions,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            next_observations=next_observations,
            valid=valid,
            log_probs=masked_log_probs(log_probs, valid),
            infos=infos,
            episode_returns=episode_returns,
            episode_lengths=episode_lengths,
        )


def single_env_totals(
    rewards: list[float], end_steps: list[int], carry: Carry, skip: bool
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Σ r and the number of steps of each episode that a single env ended in this batch, at
    ``end_steps`` (not the first if ``skip``), counted from its reset: the first continues
    the episode in ``carry``, and the steps after the last end are carried on. Also whether
    every r_t is finite: Σ over them all is, unless one is NaN or ±inf (or the sum
    overflowed: False then too, and the exact check decides).

    ``rewards``: the batch's r_t, a list of floats. Python's ``sum`` over list slices: for one
    env it costs a fraction of the numpy calls of `rlbasics._rollout_batch.episode_totals`.

    >>> carry = Carry.fresh(1)
    >>> returns, lengths, finite = single_env_totals([1.0, 2.0, 3.0, 4.0], [1], carry, False)
    >>> returns.tolist(), lengths.tolist(), finite, carry.episode_return.tolist()
    ([3.0], [2], True, [7.0])
    """
    total, length = float(carry.episode_return[0]), int(carry.episode_length[0])
    returns, lengths, start = [], [], 0
    for stop in end_steps:
        returns.append(sum(rewards[start : stop + 1], total))
        lengths.append(length + stop + 1 - start)
        total, length, start = 0.0, 0, stop + 1
    carry.episode_return[0] = tail = sum(rewards[start:], total)
    carry.episode_length[0] = length + len(rewards) - start
    return (np.array(returns[int(skip):], dtype=np.float64),
            np.array(lengths[int(skip):], dtype=np.int64), math.isfinite(sum(returns, tail)))
