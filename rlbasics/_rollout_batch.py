"""The batch side of `rlbasics.rollout`: buffers, and what is derived once per batch.

`rlbasics.rollout.Collector` copies each step of a vector env into a `Buffers` (time-major
``[T, N]``, so each step writes contiguous memory; a single env's batch, kept in lists by
`rlbasics._rollout_single`, becomes one only to be searched for an offence); everything
that follows from the flags alone waits until the batch is complete and costs one vectorised
pass per batch instead of one per step (`assemble`): the validity mask of NEXT_STEP
auto-reset steps, the final observations, and `episode_totals`, Σ r and the length of each
episode that ended, carried across batches in a `Carry`. The checks are in
`rlbasics._rollout_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlbasics.trajectory import Rollout


@dataclass
class Buffers:
    """The arrays of one batch, time-major ``[T, N, ...]``; the `Rollout` gets ``[N, T]``
    views of them. ``observations`` holds s_0 … s_T (one row more); ``valid`` exists only
    when the loop selects steps itself; ``actions`` has the policy's dtype, ``action_dtype``
    (None before the first step)."""

    observations: np.ndarray
    actions: np.ndarray | None
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray | None = None
    action_dtype: np.dtype | None = None

    @classmethod
    def preallocated(
        cls, capacity: int, observations: np.ndarray, selecting: bool
    ) -> Buffers:
        """Buffers for ``capacity`` vector steps of N envs, with s_0 = ``observations``
        ``[N, ...]``; ``actions`` waits for their dtype (`adopt_action_dtype`)."""
        if observations.ndim == 2 and not observations.flags.c_contiguous and (
            observations.flags.f_contiguous
        ):  # [N, D] stored D-major (CartPole's vector env): copies without a transpose
            storage = np.empty((capacity + 1, *observations.shape[::-1]), observations.dtype)
            buffer = storage.transpose(0, 2, 1)
        else:
            buffer = np.empty((capacity + 1, *observations.shape), observations.dtype)
        buffer[0] = observations
        shape = (capacity, len(observations))
        return cls(buffer, None, np.empty(shape), np.empty(shape, dtype=bool),
                   np.empty(shape, dtype=bool), np.empty(shape, dtype=bool) if selecting else None)

    def adopt_action_dtype(self, dtype: np.dtype, action_shape: tuple[int, ...]) -> None:
        """Make ``actions`` (``[capacity, *action_shape]``) able to hold ``dtype`` exactly:
        the first step's dtype, or the promotion of the steps' so far, for a policy that
        changed dtype."""
        promoted = dtype if self.action_dtype is None else np.promote_types(self.action_dtype,
                                                                            dtype)
        if promoted != self.action_dtype:
            self.actions = np.empty((len(self.rewards), *action_shape), promoted) if (
                self.actions is None) else self.actions.astype(promoted)
        self.action_dtype = promoted

    def grow(self, capacity: int) -> None:
        """Room for ``capacity`` steps in the preallocated arrays (their rows so far kept)."""
        for name in ("observations", "actions", "rewards", "terminated", "truncated", "valid"):
            array = getattr(self, name)
            if array is not None:
                grown = np.zeros((capacity + (name == "observations"), *array.shape[1:]),
                                 array.dtype)
                grown[: len(array)] = array
                setattr(self, name, grown)


@dataclass
class Carry:
    """What a batch hands the next, per env ``[N]``: whether the next step is a NEXT_STEP
    reset step, whether the current episode has taken steps, and its Σ r and length so far."""

    reset_pending: np.ndarray
    in_progress: np.ndarray
    episode_return: np.ndarray
    episode_length: np.ndarray

    @classmethod
    def fresh(cls, n: int) -> Carry:
        """The state right after a reset of all ``n`` envs."""
        return cls(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.zeros(n),
                   np.zeros(n, dtype=np.int64))


def final_observations(buffers: Buffers, steps: int, finals: list) -> tuple[np.ndarray,
                                                                            np.ndarray | None]:
    """s_{t+1} of each step ``[T, N, ...]``: the observation the step returned, except where
    an episode ended and ``finals`` ((t, ended [N], final observations)) holds the final
    observation that a reset replaced (a view of the buffer if there is none); and those
    final observations stacked ``[E, ...]`` (None if there are none), for the checks."""
    next_observations = buffers.observations[1 : steps + 1]
    if not finals:
        return next_observations, None
    next_observations = next_observations.copy(order="K")
    stacked = np.concatenate([final for _, _, final in finals])
    if next_observations.shape[1] == 1:  # one env: one assignment, not one per end
        next_observations[[step for step, _, _ in finals], 0] = stacked
    else:
        for step, ended, final in finals:
            next_observations[step, ended] = final
    return next_observations, stacked


def assemble(
    buffers: Buffers, steps: int, next_observations: np.ndarray, carry: Carry, *,
    next_step: bool, log_probs: list[torch.Tensor], infos: list[dict[str, Any]] | None,
) -> Rollout:
    """The `Rollout` ``[N, T]`` of ``steps`` checked vector steps: transposed views of the
    time-major buffers (a transposing copy would cost as much as the whole loop at 256
    envs), with the NEXT_STEP reset steps (``next_step``) and the unselected steps marked
    invalid and zeroed, and the totals of the episodes that ended (`episode_totals`);
    ``carry`` is brought up to date. The Rollout is not validated again
    (`Rollout._assembled`): the collector checked what it holds."""
    rewards = buffers.rewards[:steps]
    terminated, truncated = buffers.terminated[:steps], buffers.truncated[:steps]
    ended = terminated | truncated
    if next_step:  # real: False at NEXT_STEP reset steps, the steps after an end
        real = np.empty_like(ended)
        real[0] = ~carry.reset_pending
        real[1:] = ~ended[:-1]
        carry.reset_pending = ended[-1]
        carry.in_progress = real[-1] & ~ended[-1]
        # in place (the buffers are this batch's alone): a reset step's reward and flags are
        # fake (Gymnasium's are 0 and False anyway)
        rewards[~real] = 0.0
        terminated &= real
        truncated &= real
    else:
        real = np.ones_like(ended)
        carry.in_progress = ~ended[-1]
    valid = real if buffers.valid is None else buffers.valid[:steps]
    episode_returns, episode_lengths = episode_totals(
        rewards, real, ended, valid, carry.episode_return, carry.episode_length
    )
    if buffers.valid is not None:  # the steps not selected are not transitions either
        rewards[~valid] = 0.0
        terminated &= valid
        truncated &= valid
    return Rollout._assembled(
        observations=buffers.observations[:steps].swapaxes(0, 1),
        actions=buffers.actions[:steps].swapaxes(0, 1),
        rewards=rewards.T,
        terminated=terminated.T,
        truncated=truncated.T,
        next_observations=next_observations.swapaxes(0, 1),
        valid=valid.T,
        log_probs=masked_log_probs(log_probs, valid.T),
        infos=infos,
        episode_returns=episode_returns,
        episode_lengths=episode_lengths,
    )


def masked_log_probs(log_probs: list[torch.Tensor], valid: np.ndarray) -> torch.Tensor | None:
    """The policy's log π(a_t|s_t), one tensor ``[N]`` per step, as ``[N, T]`` with 0 (and so
    no gradient) where ``valid`` ``[N, T]`` is False; None if the policy returned none."""
    if not log_probs:
        return None
    return torch.where(torch.from_numpy(valid), torch.stack(log_probs, dim=1), 0.0)


def episode_totals(
    rewards: np.ndarray, real: np.ndarray, ended: np.ndarray, valid: np.ndarray,
    carried_return: np.ndarray, carried_length: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Σ r and the number of steps of each episode that ended in this batch at a valid step,
    ordered by step then env, counted from its reset.

    Inputs ``[T, N]``: ``rewards`` (0 where not ``real``), ``real`` (False only at auto-reset
    steps, each the first step after an end or the batch's first step), ``ended``,
    ``valid``. Each env's row is cut after its ended steps into segments; a segment's Σ r is
    one ``np.add.reduceat`` over the env-major rows, its length its span less its first step
    if that is not real. The first segment of a row continues the episode in progress
    (``carried_return``, ``carried_length`` ``[N]``, added to it); the last one, if
    unfinished, is carried on to the next batch (both updated in place).
    """
    steps, n = ended.shape
    ends = ended.T.ravel()  # env-major, so each env's segments are contiguous
    boundary = np.zeros(n * steps, dtype=bool)
    boundary[::steps] = True
    boundary[1:] |= ends[:-1]
    starts = np.flatnonzero(boundary)
    stops = np.empty_like(starts)
    stops[:-1], stops[-1] = starts[1:] - 1, n * steps - 1
    returns = np.add.reduceat(rewards.T.ravel(), starts)
    env, step = np.divmod(starts, steps)
    lengths = stops - starts + real[step, env]  # span − 1 + 1 if its first step is real
    first_of_env = step == 0  # one per env, in env order
    returns[first_of_env] += carried_return
    lengths[first_of_env] += carried_length
    finished = ends[stops]
    last_of_env = np.append(first_of_env[1:], True)
    carried_return[:] = np.where(finished[last_of_env], 0.0, returns[last_of_env])
    carried_length[:] = np.where(finished[last_of_env], 0, lengths[last_of_env])
    env, step = np.divmod(stops[finished], steps)
    order = np.argsort(step * n + env)  # by step, then env
    keep = valid[step[order], env[order]]
    return returns[finished][order][keep], lengths[finished][order][keep]


def batch_info(info: dict[str, Any]) -> dict[str, Any]:
    """One env's info dict in Gymnasium's vector format, as a batch of one."""
    batched: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, dict):
            batched[key] = batch_info(value)
        else:
            batched[key] = np.empty(1, dtype=object)
            batched[key][0] = value
        batched["_" + key] = np.ones(1, dtype=bool)
    return batched
