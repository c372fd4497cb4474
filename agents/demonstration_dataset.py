"""The demonstrations dataset: what a demonstrator did, validated, and its ``.npz`` file.

:class:`Demonstrations` holds n steps of whole episodes (observations, actions, rewards,
returns-to-go, episode bookkeeping, the steps a :class:`Corruption` replaced) with the env's
spaces and how they were made; constructing one validates all of it. ``agents.demonstrations``
makes them (:func:`agents.demonstrations.make_demonstrations`) and re-exports both classes.

The ``.npz`` file holds the arrays and the metadata as JSON (a 0-d string array, so loading
needs no pickle: ``allow_pickle=False``); it is written atomically and validated on loading.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from rlbasics._numbers import is_integer, is_real
from rlbasics.returns import rewards_to_go
from rlbasics.runs import atomic_write_bytes

__all__ = ["Corruption", "Demonstrations"]

_FORMAT, _VERSION = "rlbasics.demonstrations", 1
_ARRAYS = (
    "observations",
    "actions",
    "rewards",
    "returns_to_go",
    "episode_ids",
    "episode_returns",
    "corrupted",
)


@dataclass(frozen=True)
class Corruption:
    """A demonstrator that misbehaves on a fraction of its steps.

    Attributes:
        fraction: ε in [0, 1], the probability that a step's action is replaced.
        behaviour: ``"random"`` (uniform over the action space; a ``Box`` must be bounded) or
            ``"constant"`` (always ``action``; ``Discrete`` action spaces).
        action: the constant action; 0 is CartPole's "push left" (always-left).

    >>> Corruption(0.25, "constant")
    Corruption(fraction=0.25, behaviour='constant', action=0)
    """

    fraction: float
    behaviour: Literal["random", "constant"] = "random"
    action: int = 0

    def __post_init__(self) -> None:
        fraction = self.fraction
        if not is_real(fraction):
            raise ValueError(f"corruption fraction must be a number in [0, 1], got {fraction!r}")
        if not 0 <= fraction <= 1:
            raise ValueError(f"corruption fraction must be in [0, 1], got {fraction!r}")
        if self.behaviour not in ("random", "constant"):
            raise ValueError(
                f"corruption behaviour must be 'random' or 'constant', got {self.behaviour!r}"
            )
        if not is_integer(self.action):
            raise ValueError(f"corruption action must be an integer, got {self.action!r}")
        object.__setattr__(self, "fraction", float(fraction))
        object.__setattr__(self, "action", int(self.action))


# ---------------------------------------------------------------------------- spaces as JSON


def describe_space(space: spaces.Space, name: str) -> dict[str, Any]:
    """A JSON-ready dict of a Discrete or Box space; TypeError naming ``name`` for others."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": space.low.tolist(),
            "high": space.high.tolist(),
        }
    raise TypeError(f"{name} must be a Discrete or Box space, got {space!r}")


def _space_from(description: object, name: str) -> spaces.Space:
    """The space a ``describe_space`` dict describes; ValueError if it describes none."""
    try:
        kind = description["type"]
        if kind == "Discrete":
            return spaces.Discrete(int(description["n"]), start=int(description["start"]))
        if kind == "Box":
            dtype = np.dtype(description["dtype"])
            low = np.asarray(description["low"], dtype=dtype)
            high = np.asarray(description["high"], dtype=dtype)
            return spaces.Box(low, high, tuple(description["shape"]), dtype)
    except (KeyError, TypeError, ValueError, AssertionError) as error:
        raise ValueError(f"{name} is not a valid space description: {error!r}") from None
    raise ValueError(f"{name} must describe a Discrete or Box space, got {description!r}")


# ---------------------------------------------------------------------------- the dataset


def _check_array(name: str, array: object, dtype: np.dtype, shape: tuple) -> np.ndarray:
    """``array`` if it is a numpy array of exactly this dtype and shape (None = any length)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype:
        raise ValueError(f"{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    if len(array.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        wanted = tuple("n" if want is None else want for want in shape)
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    return array


def _check_in_space(name: str, values: np.ndarray, space: spaces.Space) -> None:
    """Every row of ``values`` lies in ``space`` (vectorised; NaN is outside)."""
    if isinstance(space, spaces.Discrete):
        low, high = space.start, space.start + space.n - 1
    else:
        low, high = space.low, space.high
    inside = (values >= low) & (values <= high)
    outside = ~inside.reshape(len(values), -1).all(axis=1)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise ValueError(f"{name}[{row}] = {values[row].tolist()} is outside {space}")


def array_dtype(space: spaces.Space) -> np.dtype:
    """The dtype of a dataset's array of points of ``space``: int64 for Discrete, else Box's."""
    return np.dtype(np.int64) if isinstance(space, spaces.Discrete) else space.dtype


def episode_ends(episode_ids: np.ndarray) -> np.ndarray:
    """``[n]`` bool, True at the last step of each episode."""
    ends = np.ones(len(episode_ids), dtype=bool)
    ends[:-1] = episode_ids[1:] != episode_ids[:-1]
    return ends


@dataclass(frozen=True, eq=False)
class Demonstrations:
    """n steps of E demonstrated episodes, laid end to end (steps on the first axis).

    Attributes:
        observations: ``[n, *obs_shape]``, s_t (dtype of the Box, int64 for Discrete).
        actions: ``[n, *action_shape]``, a_t as executed (int64 for Discrete).
        rewards: ``[n]`` float64, r_t, the reward after a_t in s_t.
        returns_to_go: ``[n]`` float64, G_t = Σ_{k≥0} γ^k r_{t+k} within the episode, with
            nothing bootstrapped after its last step (no value function here; CartPole's
            500-step time limit therefore counts as an end).
        episode_ids: ``[n]`` int64, the episode of each step: 0, …, 0, 1, …, E − 1.
        episode_returns: ``[E]`` float64, G(τ) = Σ_t r_t (undiscounted) of each episode; a
            step's is ``episode_returns[episode_ids]``.
        corrupted: ``[n]`` bool, the steps whose action the corruption replaced.
        env_id, observation_space, action_space: the env that produced them (Discrete or Box).
        policy: the demonstrator's name.
        seed: the seed of the env resets and of the corruption draws.
        gamma: γ of ``returns_to_go``.
        corruption: the :class:`Corruption` applied, or None.

    Construction validates all of it (dtypes, shapes, values inside the spaces, episode
    bookkeeping, returns consistent with the rewards) and raises ValueError/TypeError.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    returns_to_go: np.ndarray
    episode_ids: np.ndarray
    episode_returns: np.ndarray
    corrupted: np.ndarray
    env_id: str
    observation_space: spaces.Space
    action_space: spaces.Space
    policy: str
    seed: int
    gamma: float = 1.0
    corruption: Corruption | None = None

    def __post_init__(self) -> None:
        for name in ("env_id", "policy"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        if not is_integer(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not (is_real(self.gamma) and 0 <= self.gamma <= 1):
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if self.corruption is not None and not isinstance(self.corruption, Corruption):
            raise TypeError(f"corruption must be a Corruption or None, got {self.corruption!r}")
        describe_space(self.observation_space, "observation_space")
        describe_space(self.action_space, "action_space")
        n = len(self.rewards) if isinstance(self.rewards, np.ndarray) and self.rewards.ndim else 0
        if n == 0:
            raise ValueError("demonstrations must hold at least one step (rewards of shape [n])")
        obs_space, action_space = self.observation_space, self.action_space
        observations = _check_array(
            "observations", self.observations, array_dtype(obs_space), (n, *obs_space.shape)
        )
        actions = _check_array(
            "actions", self.actions, array_dtype(action_space), (n, *action_space.shape)
        )
        rewards = _check_array("rewards", self.rewards, np.float64, (n,))
        _check_array("returns_to_go", self.returns_to_go, np.float64, (n,))
        ids = _check_array("episode_ids", self.episode_ids, np.int64, (n,))
        episode_returns = _check_array("episode_returns", self.episode_returns, np.float64, (None,))
        corrupted = _check_array("corrupted", self.corrupted, np.bool_, (n,))
        _check_in_space("observations", observations, obs_space)
        _check_in_space("actions", actions, action_space)
        for name in ("rewards", "returns_to_go", "episode_returns"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name} must be finite")
        steps = np.diff(ids)
        if ids[0] != 0 or not np.isin(steps, (0, 1)).all() or ids[-1] != len(episode_returns) - 1:
            raise ValueError(
                "episode_ids must count the episodes 0, 1, …, E − 1 in order (E = "
                f"{len(episode_returns)} episode returns), got ids from {ids[0]} to {ids[-1]}"
            )
        sums = np.bincount(ids, weights=rewards, minlength=len(episode_returns))
        if not np.allclose(sums, episode_returns, rtol=1e-9, atol=1e-9):
            episode = int(np.flatnonzero(~np.isclose(sums, episode_returns, 1e-9, 1e-9))[0])
            raise ValueError(
                f"episode_returns[{episode}] = {episode_returns[episode]} is not the sum of "
                f"that episode's rewards, {sums[episode]}"
            )
        expected = rewards_to_go(rewards, float(self.gamma), terminated=episode_ends(ids))
        if not np.allclose(expected, self.returns_to_go, rtol=1e-9, atol=1e-9):
            raise ValueError(
                f"returns_to_go are not the rewards' returns-to-go with γ = {self.gamma}"
            )
        corruption = self.corruption
        if corrupted.any() and (corruption is None or corruption.fraction == 0):
            raise ValueError(f"corrupted marks steps, but the corruption is {corruption}")
        if corruption is not None and corruption.behaviour == "constant":
            if np.any(actions[corrupted] != corruption.action):
                raise ValueError(
                    f"corrupted steps must hold the constant action {corruption.action}"
                )

    def __len__(self) -> int:
        return len(self.rewards)

    def __repr__(self) -> str:
        return (
            f"Demonstrations(env_id={self.env_id!r}, policy={self.policy!r}, "
            f"episodes={self.n_episodes}, steps={len(self)}, seed={self.seed}, "
            f"gamma={self.gamma}, corruption={self.corruption})"
        )

    @property
    def n_episodes(self) -> int:
        """E, the number of episodes."""
        return len(self.episode_returns)

    @property
    def episode_lengths(self) -> np.ndarray:
        """``[E]`` int64, the number of steps of each episode."""
        return np.bincount(self.episode_ids, minlength=self.n_episodes)

    @property
    def metadata(self) -> dict[str, Any]:
        """Everything but the arrays, as JSON-ready values (what ``save`` stores)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "env_id": self.env_id,
            "observation_space": describe_space(self.observation_space, "observation_space"),
            "action_space": describe_space(self.action_space, "action_space"),
            "policy": self.policy,
            "seed": int(self.seed),
            "gamma": float(self.gamma),
            "corruption": None if self.corruption is None else dataclasses.asdict(self.corruption),
        }

    def save(self, path: str | Path) -> Path:
        """Write the dataset to ``path`` (an ``.npz``, name used as given), atomically."""
        buffer = io.BytesIO()
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(buffer, metadata=np.array(json.dumps(self.metadata)), **arrays)
        return atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path, *, env_id: str | None = None) -> Demonstrations:
        """Read a dataset written by :meth:`save`, validating everything in it.

        Args:
            path: the ``.npz`` file.
            env_id: if given, refuse a dataset that was made in another env.

        Raises:
            FileNotFoundError: no such file.
            ValueError: not a demonstrations file (garbage, truncated, pickled, missing or
                extra arrays, bad metadata), inconsistent contents, or another env's data.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                names = set(npz.files)
                if names != {*_ARRAYS, "metadata"}:
                    raise ValueError(
                        f"it must hold the arrays {sorted({*_ARRAYS, 'metadata'})}, "
                        f"got {sorted(names)}"
                    )
                arrays = {name: npz[name] for name in _ARRAYS}
                metadata = npz["metadata"]
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} is not a readable demonstrations file: {error}") from None
        try:
            if metadata.dtype.kind != "U" or metadata.ndim != 0:
                raise ValueError(f"metadata must be a JSON string, got {metadata.dtype}")
            meta = json.loads(str(metadata))
            if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                raise ValueError(f"metadata format must be {_FORMAT!r}")
            if meta.get("version") != _VERSION:
                raise ValueError(f"format version {meta.get('version')!r} is not {_VERSION}")
            expected = {"format", "version", "env_id", "observation_space", "action_space",
                        "policy", "seed", "gamma", "corruption"}
            if set(meta) != expected:
                raise ValueError(f"metadata keys must be {sorted(expected)}, got {sorted(meta)}")
            corruption = meta["corruption"]
            demonstrations = cls(
                **arrays,
                env_id=meta["env_id"],
                observation_space=_space_from(meta["observation_space"], "observation_space"),
                action_space=_space_from(meta["action_space"], "action_space"),
                policy=meta["policy"],
                seed=meta["seed"],
                gamma=meta["gamma"],
                corruption=None if corruption is None else Corruption(**corruption),
            )
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path} holds invalid demonstrations: {error}") from None
        if env_id is not None and demonstrations.env_id != env_id:
            raise ValueError(
                f"{path} holds demonstrations for {demonstrations.env_id!r}, not for {env_id!r}"
            )
        return demonstrations
