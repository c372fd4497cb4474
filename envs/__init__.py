"""Gymnasium environments made for teaching and for exact checks.

Importing ``envs`` registers them under the ``rlbasics/`` namespace (or let Gymnasium import
it: ``gym.make("envs:rlbasics/ShortCorridor-v0")``):

=============================  ====================  =================  ===================
id                             class                 max_episode_steps  exact J
=============================  ====================  =================  ===================
``rlbasics/TabularMDP-v0``     ``TabularMDP``        1000               from ``model()``
``rlbasics/ShortCorridor-v0``  ``ShortCorridorEnv``  1000               (2p − 4)/(p(1 − p))
``rlbasics/Bandit-v0``         ``BanditEnv``         none (one step)    Σ_a π(a) μ_a
``rlbasics/GridWorld-v0``      ``GridWorldEnv``      100                from ``model()``
``rlbasics/TargetReach-v0``    ``TargetReachEnv``    none (one step)    −((μ − c)² + σ²)
=============================  ====================  =================  ===================

The tabular ones are ``TabularMDP`` instances: ``env.unwrapped.model()`` returns their exact
arrays (an ``MDPModel``). ``rlbasics/TabularMDP-v0`` needs its arrays as keyword arguments.
``random_mdp`` makes seeded random MDPs for tests. This package depends on gymnasium and
numpy only.

>>> import gymnasium as gym
>>> import envs
>>> env = gym.make("rlbasics/Bandit-v0", means=[0.0, 1.0])
>>> env.unwrapped.model().rewards[0].tolist()
[0.0, 1.0]
"""

import gymnasium as gym

from envs.bandit import BanditEnv
from envs.gridworld import GridWorldEnv
from envs.short_corridor import ShortCorridorEnv
from envs.tabular import MDPModel, TabularMDP, random_mdp
from envs.target_reach import TargetReachEnv

__all__ = [
    "ENV_IDS",
    "BanditEnv",
    "GridWorldEnv",
    "MDPModel",
    "ShortCorridorEnv",
    "TabularMDP",
    "TargetReachEnv",
    "random_mdp",
]

# id -> (entry point, max_episode_steps). One-step envs always terminate: no time limit.
_REGISTRY = {
    "rlbasics/TabularMDP-v0": ("envs.tabular:TabularMDP", 1000),
    "rlbasics/ShortCorridor-v0": ("envs.short_corridor:ShortCorridorEnv", 1000),
    "rlbasics/Bandit-v0": ("envs.bandit:BanditEnv", None),
    "rlbasics/GridWorld-v0": ("envs.gridworld:GridWorldEnv", 100),
    "rlbasics/TargetReach-v0": ("envs.target_reach:TargetReachEnv", None),
}
ENV_IDS = tuple(_REGISTRY)

for _env_id, (_entry_point, _max_episode_steps) in _REGISTRY.items():
    gym.register(id=_env_id, entry_point=_entry_point, max_episode_steps=_max_episode_steps)
