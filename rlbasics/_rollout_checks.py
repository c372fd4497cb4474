"""The checks of `rlbasics.rollout`: what the policy returned and what the envs returned.

Per step the collector only refuses what it could not record (a policy output of the wrong
type, shape or dtype kind: `Checks.actions`, `Checks.action_dtype`). Everything else is
checked once per batch, over the whole batch (`Checks.looks_clean`: one reduction per array),
and only a batch that fails is searched for its earliest offence (`Checks.first_problem`):
an action outside the action space, a non-finite observation or reward. When the policy or
the env raises in the middle of a batch, `Checks.raise_first_problem` turns an offence found
in the batch so far into the error (a NaN observation is the likelier cause of a policy's
error, an invalid action of an env's: CartPole asserts its actions are valid).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

if TYPE_CHECKING:
    from rlbasics._rollout_batch import Buffers

_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}


def action_checker(space: spaces.Space) -> tuple[str, Callable]:
    """The dtype kinds allowed for actions in ``space``, and a vectorised membership test
    returning None if a batch ``[B, *shape]`` lies inside the space, else the bool [B] of
    rows whose action does not."""
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


def all_finite(array: np.ndarray) -> bool:
    """No NaN or ±inf in ``array``, by ``np.isfinite`` (not by Σ x, one pass fewer: a sum of
    huge finite entries overflows with a RuntimeWarning, and +inf + −inf warns too)."""
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def first_non_finite(array: np.ndarray) -> int | None:
    """The first row of a batch ``[B, ...]`` holding a NaN or ±inf, or None if there is none
    (or the dtype cannot hold them)."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or np.isfinite(array).all():
        return None
    return int(np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))[0])


def non_finite_message(env: int, field: str, when: str, value: Any) -> str:
    return f"env {env} returned a non-finite {field} at {when}: {value}"


class Checks:
    """The checks of one collector: its action space (``space``, one env's), its number of
    envs, and where its auto-reset ``mode`` puts final and reset observations."""

    def __init__(self, space: spaces.Space, num_envs: int, mode: AutoresetMode) -> None:
        self.space, self.num_envs = space, num_envs
        self.action_shape = (num_envs, *space.shape)
        self.kinds, self.outside = action_checker(space)
        self.final_field = "final observation" if mode is AutoresetMode.SAME_STEP else (
            "observation")  # SAME_STEP: from info["final_obs"]; else the step's own
        self.resets_in_loop = mode is AutoresetMode.DISABLED  # the collector resets ended envs

    def actions(self, output: Any, t: int, log_probs: list[torch.Tensor]) -> np.ndarray:
        """The actions of a policy ``output`` at step ``t`` that is not a plain numpy array
        of the right shape: a torch tensor, or a tuple (actions, log_probs) whose log-probs
        are appended to ``log_probs``; anything else, or a wrong shape, is refused."""
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
            actions = np.asarray(actions)  # a numpy scalar: refused by its shape
        elif not isinstance(actions, np.ndarray):
            raise TypeError(
                f"policy must return a numpy array or torch tensor of actions, got "
                f"{type(actions).__name__}"
            )
        if actions.shape != self.action_shape:
            raise ValueError(
                f"policy returned actions of shape {actions.shape} at step {t}, expected "
                f"{self.action_shape} (num_envs={self.num_envs}, one action per env)"
            )
        return actions

    def action_dtype(self, actions: np.ndarray, t: int) -> None:
        """Refuse actions whose dtype kind the action space cannot take (checked at the first
        step and whenever the dtype changes)."""
        if actions.dtype.kind not in self.kinds:
            wanted = "floating-point" if self.kinds == "f" else "integer"
            raise TypeError(
                f"policy returned {actions.dtype} actions at step {t}; the action space "
                f"{self.space} needs {wanted} actions"
            )

    def looks_clean(self, actions: np.ndarray, *arrays: np.ndarray | None) -> bool:
        """The cheap whole-batch tests, one reduction per array: every action of ``actions``
        ``[B, *action_shape]`` inside the action space, every entry of ``arrays`` (rewards,
        observations; None: no such array) finite. False: `first_problem` finds why."""
        return self.outside(actions) is None and all(
            array is None or all_finite(array) for array in arrays)

    def first_problem(
        self, buffers: Buffers, steps: int, finals: list, last_actions: np.ndarray | None = None
    ) -> str | None:
        """The earliest offence of ``steps`` recorded vector steps, as an error message, or
        None.

        Offences, in the order they happen within step t: the policy's action a_t outside the
        action space (``last_actions``: step ``steps``' actions, returned but not recorded
        when the env raised on them); a non-finite observation or reward returned by step t,
        or final observation (``finals``: (t, ended [N], observations of the ended envs)); a
        non-finite observation from the collector's own reset after step t (row t + 1 of
        ``observations`` where an episode ended).
        """
        problems: list[tuple[int, int, int, str]] = []  # (step, phase, env, message)
        n = buffers.rewards.shape[1]
        actions = buffers.actions[:steps] if buffers.actions is not None else None
        if last_actions is not None:
            last = last_actions[None]
            actions = last if actions is None else np.concatenate((actions, last))
        if actions is not None and len(actions):
            flat = self.outside(actions.reshape(-1, *actions.shape[2:]))
            if flat is not None:
                step, env = divmod(int(np.flatnonzero(flat)[0]), n)
                problems.append((step, 0, env, (
                    f"policy action {actions[step, env].tolist()} at step {step}, env {env} is "
                    f"outside the action space {self.space} (the collector never clips "
                    "actions)")))
        observations = buffers.observations[1 : steps + 1]
        if not all_finite(observations):
            reset_after = np.zeros((steps, n), dtype=bool)
            if self.resets_in_loop:
                for step, ended, _ in finals:
                    reset_after[step] = ended
            bad = ~np.isfinite(observations.reshape(steps, n, -1)).all(axis=2)
            for phase, where, mask in ((1, "step {}", bad & ~reset_after),
                                       (4, "reset after step {}", bad & reset_after)):
                if mask.any():
                    step, env = np.argwhere(mask)[0]
                    problems.append((step, phase, env, non_finite_message(
                        env, "observation", where.format(step), observations[step, env])))
        for step, ended, final in finals:
            row = first_non_finite(final)
            if row is not None:
                env = int(np.flatnonzero(ended)[row])
                phase = 1 if self.final_field == "observation" else 2  # the step's own
                problems.append((step, phase, env, non_finite_message(
                    env, self.final_field, f"step {step}", final[row])))
                break
        rewards = buffers.rewards[:steps]
        if not np.isfinite(rewards).all():
            step, env = np.argwhere(~np.isfinite(rewards))[0]
            problems.append((step, 3, env, non_finite_message(
                env, "reward", f"step {step}", rewards[step, env])))
        return min(problems)[3] if problems else None

    def raise_first_problem(
        self, buffers: Buffers, steps: int, finals: list, actions: Any = None,
        error: Exception | None = None,
    ) -> None:
        """If the batch's ``steps`` steps hold an offence, raise it (a `ValueError`) from
        ``error``: after a batch failed `looks_clean` (a false alarm, a sum that overflowed,
        raises nothing), or after the policy, the env or a per-step check raised ``error`` at
        step ``steps`` (``actions``: what the policy returned at that step, if anything)."""
        recorded = buffers.actions
        if not isinstance(actions, np.ndarray) or recorded is None or (
            actions.dtype != recorded.dtype or actions.shape != recorded.shape[1:]
        ):
            actions = None  # no actions at this step, or ones refused for their shape or dtype
        problem = self.first_problem(buffers, steps, finals, last_actions=actions)
        if problem is not None:
            raise ValueError(problem) from error
