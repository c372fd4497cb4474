"""Making Gymnasium environments by id (the vectorised form the agents train on), and
evaluating a policy in them.

Ids are Gymnasium's (``"CartPole-v1"``) or ``"module:id"`` (``"envs:rlbasics/GridWorld-v0"``),
where the module is imported first so that it can register its environments.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlbasics.policies import Policy
from rlbasics.rollout import Collector

__all__ = ["env_spec", "evaluate", "make_vector_env"]


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """The registered spec of ``env_id``, importing ``module`` first for ``"module:id"`` ids
    (as ``gym.make`` does). Unknown ids raise Gymnasium's own error, with its "did you mean".

    >>> env_spec("envs:rlbasics/GridWorld-v0").max_episode_steps
    100
    """
    module, _, name = env_id.rpartition(":")
    if module:
        importlib.import_module(module)
    return gym.spec(name)


def make_vector_env(env_id: str, num_envs: int, **env_kwargs: Any) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id``: Gymnasium's native vector env when the id has one
    (CartPole-v1: one numpy array of states, ~10× faster than stepping copies), else a
    ``SyncVectorEnv``. ``env_kwargs`` go to the env's constructor (and ``gym.make``, e.g.
    ``max_episode_steps``).

    >>> env = make_vector_env("CartPole-v1", 8)
    >>> env.num_envs, env.single_observation_space.shape
    (8, (4,))
    """
    spec = env_spec(env_id)
    mode = "vector_entry_point" if spec.vector_entry_point is not None else "sync"
    return gym.make_vec(spec.id, num_envs=num_envs, vectorization_mode=mode, **env_kwargs)


def evaluate(
    policy: Policy,
    env: str | gym.vector.VectorEnv,
    episodes: int = 20,
    *,
    deterministic: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """Run ``episodes`` episodes and return their (undiscounted) returns ``[episodes]``.

    Args:
        policy: a `rlbasics.policies.Policy`.
        env: an env id, or a vector env (ideally of ``episodes`` envs: one episode each).
        deterministic: the greedy action (argmax / mean) instead of a sample.
        seed: seeds the envs' reset and, when sampling, the policy's draws.

    >>> import torch
    >>> from rlbasics.policies import make_policy
    >>> env = make_vector_env("CartPole-v1", 4)
    >>> _ = torch.manual_seed(0)
    >>> policy = make_policy(env.single_observation_space, env.single_action_space)
    >>> evaluate(policy, env, episodes=4, seed=0).shape
    (4,)
    """
    if isinstance(env, str):
        env = make_vector_env(env, episodes)
    generator = torch.Generator().manual_seed(seed)

    def act(observations: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            if deterministic:
                actions = policy.deterministic(observations)
            else:
                actions, _ = policy.sample(observations, generator)
        return policy.to_env(actions)

    trajectories = Collector(env, act, seed=seed).collect(episodes=episodes)
    return np.array([trajectory.total_reward for trajectory in trajectories])
