"""The REINFORCE estimator under the microscope: bias and variance against the exact ∇J(θ).

For a fixed tabular softmax policy θ, `gradient_estimates` draws many independent estimates
ĝ_1 … ĝ_M of ∇J(θ), each from a batch of E fresh episodes, through the same code the agent
trains with (`agents.reinforce.policy_gradient_weights`, `rlbasics.losses`, the policy's
log-probabilities). `estimator_statistics` compares them with the exact gradient from
`rlbasics.exact`:

    bias      ‖ĝ̄ − ∇J‖, with its standard error (ĝ̄ = mean of the M estimates)
    variance  tr Cov(ĝ) = E‖ĝ − E ĝ‖²
    cosine    E[cos(ĝ, ∇J)], how well one batch points uphill

``python benchmarks/estimators.py`` prints the table for every variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agents.reinforce import _Actor, make_vector_env, policy_gradient_weights
from rlbasics import losses
from rlbasics.policies import Policy
from rlbasics.rollout import Collector

__all__ = ["EstimatorStatistics", "estimator_statistics", "gradient_estimates"]


def gradient_estimates(
    env_id: str,
    policy: Policy,
    *,
    gamma: float,
    weights: str = "reward_to_go",
    baseline: str = "none",
    discount_weighting: bool = False,
    state_values: np.ndarray | None = None,
    batches: int = 1000,
    episodes_per_batch: int = 10,
    num_envs: int = 64,
    seed: int = 0,
    env_kwargs: dict | None = None,
) -> np.ndarray:
    """``batches`` independent REINFORCE estimates of ∇J(θ), shape ``[batches, P]`` for the
    policy's P parameters (flattened in ``policy.parameters()`` order).

    Each estimate is ĝ = (1/E) Σ_{i=1}^{E} Σ_t ∇_θ log π_θ(a_t|s_t) · Ψ_t over its own E
    episodes, with Ψ as `policy_gradient_weights` computes it (no normalisation: that is a
    batch-dependent rescaling, not an estimator of ∇J).

    Args:
        env_id: e.g. ``"envs:rlbasics/ShortCorridor-v0"``.
        policy: the fixed policy π_θ, e.g. a `TabularSoftmaxPolicy` with chosen logits.
        state_values: ``[S]``, a fixed V(s) for ``baseline="value"`` on a Discrete observation
            space (any V independent of the batch keeps ĝ unbiased).
        batches, episodes_per_batch: M and E.
        env_kwargs: passed to the env (e.g. a `TabularMDP`'s arrays, ``max_episode_steps``).
    """
    parameters = list(policy.parameters())
    env = make_vector_env(env_id, num_envs, **(env_kwargs or {}))
    actor = _Actor(policy, torch.Generator().manual_seed(seed))
    batch = Collector(env, actor, seed=seed).collect(
        episodes=batches * episodes_per_batch, as_rollout=True
    )
    env.close()
    actions = torch.stack(actor.raw_actions, dim=1)[torch.from_numpy(batch.valid)]
    log_probs = policy.log_prob(batch.observations[batch.valid], actions)

    values = bootstrap = None
    if baseline == "value":
        table = np.asarray(state_values, dtype=np.float64)
        values, bootstrap = table[batch.observations], table[batch.next_observations]
    _, _, episode_ids = policy_gradient_weights(
        batch.rewards, batch.terminated, batch.truncated, batch.valid, gamma=gamma
    )
    group_of_step = episode_ids[batch.valid] // episodes_per_batch
    estimates = []
    for group in range(batches):
        in_group = (episode_ids // episodes_per_batch == group) & batch.valid
        psi, _, _ = policy_gradient_weights(
            batch.rewards, batch.terminated, batch.truncated, in_group, gamma=gamma,
            weights=weights, baseline=baseline, discount_weighting=discount_weighting,
            values=values, bootstrap=bootstrap,
        )
        mask = torch.from_numpy(group_of_step == group)
        psi_steps = torch.as_tensor(psi[batch.valid], dtype=log_probs.dtype)
        loss = losses.policy_gradient_loss(
            log_probs, psi_steps, mask=mask, reduction="sum"
        ) / episodes_per_batch
        gradients = torch.autograd.grad(loss, parameters, retain_graph=True)
        # The loss is the surrogate of −J: its gradient is −ĝ.
        estimates.append(-torch.cat([g.reshape(-1) for g in gradients]).double().numpy())
    return np.stack(estimates)


@dataclass(frozen=True)
class EstimatorStatistics:
    """Bias, variance and alignment of M estimates against the exact gradient."""

    bias: float
    """‖mean estimate − ∇J‖."""
    bias_standard_error: float
    """Standard error of that norm's vector: sqrt(tr Cov / M)."""
    variance: float
    """tr Cov(ĝ), the summed per-coordinate variance of one estimate."""
    cosine: float
    """Mean cosine similarity of one estimate with ∇J."""
    max_abs_z: float
    """max over coordinates of |mean − exact| / (sd / √M): the unbiasedness test statistic."""


def estimator_statistics(estimates: np.ndarray, exact: np.ndarray) -> EstimatorStatistics:
    """Summarise ``estimates`` ``[M, ...]`` against ``exact`` ``[...]``.

    >>> rng = np.random.default_rng(0)
    >>> stats = estimator_statistics(rng.normal(1.0, 0.1, (400, 2)), np.ones(2))
    >>> stats.bias < 4 * stats.bias_standard_error, round(stats.variance, 2)
    (True, 0.02)
    """
    flat = estimates.reshape(len(estimates), -1)
    truth = np.asarray(exact, dtype=np.float64).ravel()
    mean, std = flat.mean(axis=0), flat.std(axis=0, ddof=1)
    error = mean - truth
    standard_error = std / np.sqrt(len(flat))
    z = np.abs(error) / np.where(standard_error > 0, standard_error, np.inf)
    norms = np.linalg.norm(flat, axis=1) * np.linalg.norm(truth)
    cosine = np.divide(flat @ truth, norms, out=np.zeros(len(flat)), where=norms > 0)
    return EstimatorStatistics(
        bias=float(np.linalg.norm(error)),
        bias_standard_error=float(np.sqrt((standard_error**2).sum())),
        variance=float((std**2).sum()),
        cosine=float(cosine.mean()),
        max_abs_z=float(z.max()),
    )
