"""The classic PyTorch-example REINFORCE, re-implemented minimally as a speed reference.

The textbook Monte-Carlo policy gradient (Williams 1992; Sutton & Barto 2018, §13.3) in the
form of the well-known PyTorch example: one env, one episode per update, every step a batch-1
forward pass with the graph kept, then

    G_t = r_t + γ·G_{t+1}  (γ = 0.99),   Ĝ_t = (G_t − mean G) / (std G + ε),
    loss = −Σ_t log π_θ(a_t|s_t) · Ĝ_t,  one Adam step (lr 1e-2).

The policy is Linear(obs, 128) → Dropout(0.6) → ReLU → Linear(128, actions) → softmax, sampled
in training mode (dropout on). For evaluation `ClassicPolicy.deterministic` is the greedy
action of the network in eval mode (dropout off), played by `greedy_evaluation` on the eval
envs `agents.reinforce.train` uses, with the same seeds. Only the training clock runs while
training: evaluation after each update is excluded, as in `agents.reinforce.train`.

    >>> result = train_classic(seed=0, total_steps=300, eval_every=0)
    >>> result.history["env_steps"][-1] >= 300
    True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.reinforce import make_vector_env

EVAL_SEED_OFFSET = 1_000_003  # the offset `agents.reinforce.Reinforce.evaluate` seeds with
EPSILON = float(np.finfo(np.float32).eps)  # keeps the standardisation finite for one step


class ClassicPolicy(nn.Module):
    """π_θ(·|s) = softmax(W₂ ReLU(Dropout₀.₆(W₁ s + b₁)) + b₂), the PyTorch example's net."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Dropout(p=0.6), nn.ReLU(),
                                 nn.Linear(hidden, n_actions))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(observations), dim=-1)

    def deterministic(self, observations: np.ndarray) -> torch.Tensor:
        """argmax_a π_θ(a|s) with dropout off (the `agents.reinforce.evaluate` interface)."""
        training = self.training
        self.eval()
        with torch.inference_mode():
            actions = self(torch.as_tensor(observations, dtype=torch.float32)).argmax(-1)
        self.train(training)
        return actions

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        return actions.numpy()


def greedy_evaluation(
    policy: ClassicPolicy, env: gym.vector.VectorEnv, seed: int, stop_return: float
) -> float:
    """Mean return of one greedy episode per sub-env of ``env`` after ``env.reset(seed)`` —
    the episodes and the number `agents.reinforce.evaluate` gives — or, as soon as the ended
    episodes fell so far short that the mean cannot reach ``stop_return``, that upper bound
    (< ``stop_return``): the solved/not-solved decision is the same, without playing the rest.

    The bound takes each running episode to its time limit at reward ≤ 1 a step (CartPole:
    exactly 1), i.e. mean ≤ (Σ ended returns + running · max_episode_steps) / N.
    """
    observations, _ = env.reset(seed=seed)
    limit = env.spec.max_episode_steps
    returns = np.zeros(env.num_envs)
    running = np.ones(env.num_envs, dtype=bool)
    while running.any():
        observations, rewards, terminated, truncated, _ = env.step(
            policy.to_env(policy.deterministic(observations)))
        returns += np.where(running, rewards, 0.0)
        running &= ~(terminated | truncated)
        bound = (returns[~running].sum() + running.sum() * limit) / env.num_envs
        if bound < stop_return:
            return float(bound)
    return float(returns.mean())


@dataclass
class ClassicResult:
    """Per update (= per episode): ``env_steps``, ``train_time`` (wall, s), ``cpu_time``
    (process CPU, s), ``eval_mean`` (NaN when not evaluated; below the stop return it may be
    `greedy_evaluation`'s upper bound); ``solved_at`` as in `agents.reinforce.TrainResult`."""

    history: dict[str, list[float]]
    solved_at: int | None


def train_classic(
    seed: int,
    *,
    env_id: str = "CartPole-v1",
    total_steps: int = 200_000,
    gamma: float = 0.99,
    lr: float = 1e-2,
    eval_every: int = 1,
    eval_episodes: int = 20,
    stop_return: float = 475.0,
) -> ClassicResult:
    """Train the classic REINFORCE until ``total_steps`` env steps or the first greedy
    evaluation (``eval_episodes`` episodes, seeded as our agent's) with mean ≥ ``stop_return``."""
    torch.manual_seed(seed)
    env = gym.make(env_id)
    policy = ClassicPolicy(env.observation_space.shape[0], env.action_space.n)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    eval_env = make_vector_env(env_id, eval_episodes) if eval_every else None
    history: dict[str, list[float]] = {"env_steps": [], "train_time": [], "cpu_time": [],
                                       "eval_mean": []}
    env_steps, wall, cpu = 0, 0.0, 0.0
    observation, _ = env.reset(seed=seed)
    while env_steps < total_steps:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        log_probs, rewards = [], []
        done = False
        while not done:
            probabilities = policy(torch.from_numpy(observation).float().unsqueeze(0))
            distribution = torch.distributions.Categorical(probabilities)
            action = distribution.sample()
            log_probs.append(distribution.log_prob(action))
            observation, reward, terminated, truncated, _ = env.step(action.item())
            rewards.append(float(reward))
            done = terminated or truncated
        observation, _ = env.reset()
        returns, future = [], 0.0
        for reward in reversed(rewards):
            future = reward + gamma * future
            returns.append(future)
        returns_tensor = torch.tensor(returns[::-1])
        # the unbiased std is NaN for one step: the classic example's one flaw, kept finite
        std = returns_tensor.std() if len(returns) > 1 else torch.tensor(0.0)
        standardised = (returns_tensor - returns_tensor.mean()) / (std + EPSILON)
        loss = -(torch.cat(log_probs) * standardised).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
        env_steps += len(rewards)

        eval_mean = math.nan
        if eval_every and len(history["env_steps"]) % eval_every == eval_every - 1:
            eval_mean = greedy_evaluation(policy, eval_env, seed + EVAL_SEED_OFFSET,
                                          stop_return)
        for key, value in zip(history, (env_steps, wall, cpu, eval_mean), strict=True):
            history[key].append(value)
        if eval_mean >= stop_return:
            return ClassicResult(history, len(history["env_steps"]) - 1)
    return ClassicResult(history, None)
