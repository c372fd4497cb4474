"""The single-env side of `rlbasics.rollout`: what its loop records, and the batch made of it.

A single `gymnasium.Env`'s step takes a few tens of µs, so every Python operation the
collector adds per step shows, and so does every numpy call per batch (each costs µs on small
arrays). The loop therefore appends to Python lists only (`SingleEnvSteps`): s_t as bytes
(``ndarray.tobytes``, a copy taken at once, so an env may reuse its arrays), a_t (a numpy
scalar, or an array copied), r_t, and per episode end (t, terminated, truncated, final
observation); the arrays are made once per batch (`SingleEnvSteps.buffers`), and the episode
totals are list sums (`single_env_totals`).
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from rlbasics._rollout_batch import Buffers, Carry

_ONE_ENV = np.ones(1, dtype=bool)  # which envs ended, for a single env (never written to)


class SingleEnvSteps:
    """The steps of one batch from a single env, starting from ``first`` (s_0, ``[1, *shape]``).

    The loop appends to ``observations`` (s_1 … s_T as ``tobytes()`` of arrays of the dtype of
    s_0: `checked` makes sure of it), ``actions``, ``rewards`` and ``ends``
    ((t, terminated, truncated, final observation bytes) for each step t that ended an
    episode; the observation recorded for t is then the reset's).
    """

    def __init__(self, first: np.ndarray) -> None:
        self.dtype, self.shape = first.dtype, first.shape[1:]
        self.row_bytes = first.nbytes
        self.observations: list[bytes] = [first.tobytes()]
        self.actions: list[Any] = []
        self.rewards: list[Any] = []
        self.ends: list[tuple[int, Any, Any, bytes]] = []

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

    def _shape_message(self, description: str, where: str) -> str:
        return (f"env 0 returned an observation {description} at {where}, expected shape "
                f"{self.shape} (the shape of the first)")

    def _array(self, rows: list[bytes], first_step: int) -> np.ndarray:
        """``rows`` of observation bytes, returned by steps ``first_step``, ``first_step + 1``
        …, as a writable array ``[len(rows), 1, *shape]``; a row of another size (an
        observation of another shape) is refused."""
        joined = bytearray().join(rows)
        if len(joined) != len(rows) * self.row_bytes:
            row = next(i for i, data in enumerate(rows) if len(data) != self.row_bytes)
            size = len(rows[row]) // self.dtype.itemsize
            raise ValueError(self._shape_message(f"of {size} elements", f"step {first_step + row}"))
        return np.frombuffer(joined, self.dtype).reshape(len(rows), 1, *self.shape)

    def buffers(self, action_dtype: np.dtype | None, action_shape: tuple[int, ...]) -> Buffers:
        """The batch so far as time-major `Buffers` ``[T, 1, ...]`` (T = ``len(rewards)``;
        ``observations`` s_0 … s_T, one row more; the flags False except at ``ends``)."""
        count = len(self.rewards)
        dtype = action_dtype or np.dtype(np.int64)
        actions = (np.stack(self.actions[:count]).astype(dtype, copy=False) if count and (
            action_shape) else np.fromiter(self.actions, dtype, count))
        flags = bytearray(2 * count)  # terminated, then truncated
        for step, terminated, truncated, _ in self.ends:
            flags[step], flags[count + step] = bool(terminated), bool(truncated)
        terminated, truncated = np.frombuffer(flags, bool).reshape(2, count, 1)
        return Buffers(
            observations=self._array(self.observations[: count + 1], -1),  # s_0: no step
            actions=actions.reshape(count, 1, *action_shape),
            rewards=self._rewards(count).reshape(count, 1),
            terminated=terminated,
            truncated=truncated,
            action_dtype=action_dtype,
        )

    def _rewards(self, count: int) -> np.ndarray:
        """The first ``count`` rewards as float64 ``[count]``, each a real number (checked by
        type: ``np.fromiter`` would make None a NaN and "1" a 1.0)."""
        for kind in set(map(type, self.rewards)):
            if not issubclass(kind, Real | np.bool_):
                step, reward = next((step, reward) for step, reward in enumerate(self.rewards)
                                    if type(reward) is kind)
                raise TypeError(f"env 0 returned a reward that is not a real number at step "
                                f"{step}: {reward!r}")
        return np.fromiter(self.rewards, np.float64, count)

    def next_observations(self, buffers: Buffers) -> np.ndarray:
        """s_{t+1} of each step ``[T, 1, ...]``: the observation recorded after step t, or
        the final observation where the step ended an episode (a view of ``buffers`` if no
        step did)."""
        count = len(self.rewards)
        if not self.ends:
            return buffers.observations[1 : count + 1]
        rows = self.observations[1 : count + 1]
        for step, _, _, final in self.ends:
            rows[step] = final
        return self._array(rows, 0)

    def finals(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The final observations as the checks take them: (t, ended [1], observation
        ``[1, ...]``)."""
        return [(step, _ONE_ENV, self._array([final], step))
                for step, _, _, final in self.ends]


def single_env_totals(
    rewards: list, end_steps: list[int], carry: Carry, skip: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Σ r and the number of steps of each episode that a single env ended in this batch, at
    ``end_steps`` (not the first if ``skip``), counted from its reset: the first continues
    the episode in ``carry``, and the steps after the last end are carried on.

    ``rewards``: the batch's r_t, a list. Python's ``sum`` over list slices: for one env it
    costs a fraction of the numpy calls of `rlbasics._rollout_batch.episode_totals`.
    """
    total, length = float(carry.episode_return[0]), int(carry.episode_length[0])
    returns, lengths, start = [], [], 0
    for stop in end_steps:
        returns.append(sum(rewards[start : stop + 1], total))
        lengths.append(length + stop + 1 - start)
        total, length, start = 0.0, 0, stop + 1
    carry.episode_return[0] = sum(rewards[start:], total)
    carry.episode_length[0] = length + len(rewards) - start
    return (np.array(returns[int(skip):], dtype=np.float64),
            np.array(lengths[int(skip):], dtype=np.int64))
