"""Demonstrations: a scripted CartPole expert, seeded datasets of what a policy did, ``.npz`` files.

Behaviour cloning learns from (observation, action) pairs. This module makes them:
:func:`make_demonstrations` runs a demonstrator policy in a Gymnasium env (through
``rlbasics.rollout.collect``) and returns a :class:`Demonstrations` dataset, which saves to and
loads from an ``.npz`` file with its metadata.

Corruption, on purpose. To show that maximum likelihood reproduces bad behaviour as
faithfully as good behaviour, a dataset can be made by a partly bad demonstrator
(:class:`Corruption`): at every step, independently with probability ε, the action the
policy chose is replaced by a bad one — uniformly random, or a constant action (action 0 in
CartPole: "always push left"). The demonstrator *executes* the replaced action, so the
dataset records what was done and the states it led to, exactly as a real imperfect
demonstrator's data would; ``corrupted`` marks the replaced steps (a random replacement may
happen to equal the policy's choice: it still counts as replaced). The draws come from their
own generator, seeded from ``seed``, so a dataset is a function of (env, policy, episodes,
seed, corruption).

The ``.npz`` file holds the arrays and the metadata as JSON (a 0-d string array, so loading
needs no pickle: ``allow_pickle=False``); it is written atomically and validated on loading.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from rlbasics.policies import Policy
from rlbasics.returns import rewards_to_go
from rlbasics.rollout import collect
from rlbasics.runs import atomic_write_bytes

__all__ = [
    "CARTPOLE_EXPERT_GAIN",
    "Corruption",
    "Demonstrations",
    "cartpole_expert",
    "make_demonstrations",
]

#: The expert's weight on the pole's angular velocity (seconds): it pushes towards the side
#: the pole will lean to half a second from now.
CARTPOLE_EXPERT_GAIN = 0.5
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


def cartpole_expert(observations: np.ndarray) -> np.ndarray:
    """A scripted CartPole-v1 expert: push right (1) iff θ + 0.5·θ̇ > 0, else left (0).

    A proportional–derivative rule on the pole: θ + 0.5·θ̇ is, to first order, the pole's
    angle half a second ahead, and the cart is pushed under the side it is falling to. It
    ignores the cart's position and velocity and still balances for the full 500 steps
    (``tests/test_demonstrations.py`` checks 20 seeded episodes; 200 measured: all 500).

    Args:
        observations: ``[N, 4]`` CartPole observations (x, ẋ, θ, θ̇), a batch.

    Returns:
        ``[N]`` int64 actions.

    >>> cartpole_expert(np.array([[0.0, 0.0, 0.05, -0.2], [0.0, 0.0, 0.05, 0.0]]))
    array([0, 1])
    """
    observations = np.asarray(observations)
    if observations.ndim != 2 or observations.shape[1] != 4:
        raise ValueError(
            f"observations must be a batch of CartPole observations [N, 4], "
            f"got shape {observations.shape}"
        )
    angle, angular_velocity = observations[:, 2], observations[:, 3]
    return (angle + CARTPOLE_EXPERT_GAIN * angular_velocity > 0).astype(np.int64)


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
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)):
            raise ValueError(f"corruption fraction must be a number in [0, 1], got {fraction!r}")
        if not 0 <= fraction <= 1:
            raise ValueError(f"corruption fraction must be in [0, 1], got {fraction!r}")
        if self.behaviour not in ("random", "constant"):
            raise ValueError(
                f"corruption behaviour must be 'random' or 'constant', got {self.behaviour!r}"
            )
        if isinstance(self.action, bool) or not isinstance(self.action, (int, np.integer)):
            raise ValueError(f"corruption action must be an integer, got {self.action!r}")
        object.__setattr__(self, "fraction", float(fraction))
        object.__setattr__(self, "action", int(self.action))


# ---------------------------------------------------------------------------- spaces as JSON


def _describe_space(space: spaces.Space, name: str) -> dict[str, Any]:
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
    """The space a ``_describe_space`` dict describes; ValueError if it describes none."""
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


def _array_dtype(space: spaces.Space) -> np.dtype:
    return np.dtype(np.int64) if isinstance(space, spaces.Discrete) else space.dtype


def _episode_ends(episode_ids: np.ndarray) -> np.ndarray:
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
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or (
            self.seed < 0
        ):
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not (isinstance(self.gamma, (int, float)) and 0 <= self.gamma <= 1):
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if self.corruption is not None and not isinstance(self.corruption, Corruption):
            raise TypeError(f"corruption must be a Corruption or None, got {self.corruption!r}")
        _describe_space(self.observation_space, "observation_space")
        _describe_space(self.action_space, "action_space")
        n = len(self.rewards) if isinstance(self.rewards, np.ndarray) and self.rewards.ndim else 0
        if n == 0:
            raise ValueError("demonstrations must hold at least one step (rewards of shape [n])")
        obs_space, action_space = self.observation_space, self.action_space
        observations = _check_array(
            "observations", self.observations, _array_dtype(obs_space), (n, *obs_space.shape)
        )
        actions = _check_array(
            "actions", self.actions, _array_dtype(action_space), (n, *action_space.shape)
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
        expected = rewards_to_go(rewards, float(self.gamma), terminated=_episode_ends(ids))
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
            "observation_space": _describe_space(self.observation_space, "observation_space"),
            "action_space": _describe_space(self.action_space, "action_space"),
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


# ---------------------------------------------------------------------------- making them


def _actor(policy: object) -> Callable[[np.ndarray], np.ndarray]:
    """Observations ``[N, ...]`` → numpy actions ``[N, ...]`` from any supported policy."""
    if isinstance(policy, Policy):  # a trained rlbasics policy demonstrates greedily

        def greedy(observations: np.ndarray) -> np.ndarray:
            return policy.to_env(policy.deterministic(observations))

        return greedy
    if not callable(policy):
        raise TypeError(
            f"policy must be callable or a rlbasics Policy, got {type(policy).__name__}"
        )

    def actor(observations: np.ndarray) -> np.ndarray:
        actions = policy(observations)
        if isinstance(actions, tuple):  # (actions, log_probs), as rollout policies may return
            actions = actions[0]
        if isinstance(actions, torch.Tensor):
            actions = actions.detach().cpu().numpy()
        return np.asarray(actions)

    return actor


def _bad_actions(
    corruption: Corruption, space: spaces.Space, size: int, rng: np.random.Generator
) -> np.ndarray:
    if corruption.behaviour == "constant":
        return np.full(size, corruption.action, dtype=np.int64)
    if isinstance(space, spaces.Discrete):
        return rng.integers(space.start, space.start + space.n, size=size)
    return rng.uniform(space.low, space.high, size=(size, *space.shape)).astype(space.dtype)


def _check_corruption(corruption: Corruption | None, space: spaces.Space) -> None:
    if corruption is None:
        return
    if not isinstance(corruption, Corruption):
        raise TypeError(f"corruption must be a Corruption or None, got {corruption!r}")
    if corruption.behaviour == "constant" and not (
        isinstance(space, spaces.Discrete) and space.contains(np.int64(corruption.action))
    ):
        raise ValueError(
            f"constant corruption needs an action of the Discrete action space, got action "
            f"{corruption.action} for {space}"
        )
    if corruption.behaviour == "random" and isinstance(space, spaces.Box) and not (
        space.is_bounded("both")
    ):
        raise ValueError(f"random corruption needs a bounded action space, got {space}")


def make_demonstrations(
    env_id: str,
    policy: object,
    episodes: int,
    seed: int,
    corruption: Corruption | None = None,
    *,
    gamma: float = 1.0,
    policy_name: str | None = None,
) -> Demonstrations:
    """Record ``episodes`` episodes of ``policy`` acting in ``gym.make(env_id)``.

    The env is reset once with ``seed`` (later episodes continue its random stream), through
    ``rlbasics.rollout.collect`` on one env; with a ``corruption`` of fraction ε each step's
    action is replaced, with probability ε, by the bad behaviour, and the replaced action is
    the one executed and recorded (see the module docstring). The corruption draws use a
    generator of their own, ``np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])``.

    Args:
        env_id: a registered Gymnasium id with Discrete or Box observation and action spaces.
        policy: observations ``[N, *obs_shape]`` → actions ``[N, ...]`` (numpy or torch, or
            ``(actions, log_probs)``), e.g. :func:`cartpole_expert`; or a
            ``rlbasics.policies.Policy``, which demonstrates its greedy action.
        episodes: E ≥ 1.
        seed: ≥ 0; with a deterministic policy, the same arguments give the same dataset.
        corruption: a :class:`Corruption`, or None for the policy's own behaviour.
        gamma: γ in [0, 1] of the stored returns-to-go.
        policy_name: recorded in the metadata; defaults to the policy's ``__name__`` or class.

    >>> demos = make_demonstrations("CartPole-v1", cartpole_expert, episodes=2, seed=0)
    >>> demos.episode_returns.tolist(), demos.observations.shape, demos.corrupted.any()
    ([500.0, 500.0], (1000, 4), np.False_)
    """
    for name, value, low in (("episodes", episodes, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 <= gamma <= 1:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    actor = _actor(policy)
    name = policy_name or getattr(policy, "__name__", None) or type(policy).__name__
    env = gym.make(env_id)
    try:
        observation_space, action_space = env.observation_space, env.action_space
        _describe_space(observation_space, "the env's observation space")
        _describe_space(action_space, "the env's action space")
        _check_corruption(corruption, action_space)
        rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(1)[0])
        replaced: list[np.ndarray] = []

        def demonstrator(observations: np.ndarray) -> np.ndarray:
            actions = actor(observations)
            if corruption is None:
                replaced.append(np.zeros(len(observations), dtype=bool))
                return actions
            corrupt = rng.random(len(observations)) < corruption.fraction
            bad = _bad_actions(corruption, action_space, len(observations), rng)
            replaced.append(corrupt)
            return np.where(corrupt.reshape(-1, *[1] * (actions.ndim - 1)), bad, actions)

        trajectories = collect(env, demonstrator, episodes=int(episodes), seed=int(seed))
    finally:
        env.close()
    lengths = [len(trajectory) for trajectory in trajectories]
    corrupted = np.concatenate(replaced)
    # One env, fresh episodes: the collector calls the policy exactly once per recorded step.
    if len(corrupted) != sum(lengths):
        raise RuntimeError(f"{len(corrupted)} policy calls for {sum(lengths)} recorded steps")
    rewards = np.concatenate([trajectory.rewards for trajectory in trajectories]).astype(np.float64)
    episode_ids = np.repeat(np.arange(len(trajectories), dtype=np.int64), lengths)
    observations = np.concatenate([trajectory.observations[:-1] for trajectory in trajectories])
    actions = np.concatenate([trajectory.actions for trajectory in trajectories])
    return Demonstrations(
        observations=observations.astype(_array_dtype(observation_space)),
        actions=actions.astype(_array_dtype(action_space)),
        rewards=rewards,
        returns_to_go=rewards_to_go(rewards, float(gamma), terminated=_episode_ends(episode_ids)),
        episode_ids=episode_ids,
        episode_returns=np.array([t.total_reward for t in trajectories], dtype=np.float64),
        corrupted=corrupted,
        env_id=env_id,
        observation_space=observation_space,
        action_space=action_space,
        policy=str(name),
        seed=int(seed),
        gamma=float(gamma),
        corruption=corruption,
    )
