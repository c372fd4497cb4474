"""Demonstrations: a scripted CartPole expert, seeded datasets of what a policy did, ``.npz`` files.

Behaviour cloning learns from (observation, action) pairs. This module makes them:
:func:`make_demonstrations` runs a demonstrator policy in a Gymnasium env (through
``rlbasics.rollout.collect``) and returns a :class:`Demonstrations` dataset, which saves to and
loads from an ``.npz`` file with its metadata (the dataset, its checks and its file format live
in ``agents.demonstration_dataset``; :class:`Demonstrations` and :class:`Corruption` are
re-exported here).

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
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from agents.demonstration_dataset import (
    Corruption,
    Demonstrations,
    array_dtype,
    describe_space,
    episode_ends,
)
from rlbasics._numbers import is_integer, is_real
from rlbasics.policies import Policy
from rlbasics.returns import rewards_to_go
from rlbasics.rollout import collect

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
        if not is_integer(value) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not is_real(gamma) or not 0 <= gamma <= 1:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    actor = _actor(policy)
    name = policy_name or getattr(policy, "__name__", None) or type(policy).__name__
    env = gym.make(env_id)
    try:
        observation_space, action_space = env.observation_space, env.action_space
        describe_space(observation_space, "the env's observation space")
        describe_space(action_space, "the env's action space")
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
        observations=observations.astype(array_dtype(observation_space)),
        actions=actions.astype(array_dtype(action_space)),
        rewards=rewards,
        returns_to_go=rewards_to_go(rewards, float(gamma), terminated=episode_ends(episode_ids)),
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
