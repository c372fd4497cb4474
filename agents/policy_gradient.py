"""The weights Ψ_t of the policy-gradient estimator ∇J ≈ Σ_t ∇_θ log π_θ(a_t|s_t) · Ψ_t.

Every REINFORCE variant of `agents.reinforce` differs only in Ψ; this module computes it
for a batch laid out like `rlbasics.trajectory.Rollout` (``[N, T]``, several episodes back
to back per row, a ``valid`` mask for auto-reset slots).
"""

from __future__ import annotations

import numpy as np

from rlbasics.returns import rewards_to_go

__all__ = ["policy_gradient_weights"]


def policy_gradient_weights(
    rewards: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    valid: np.ndarray,
    *,
    gamma: float,
    weights: str = "reward_to_go",
    baseline: str = "none",
    discount_weighting: bool = False,
    normalize: bool = False,
    values: np.ndarray | None = None,
    bootstrap: np.ndarray | None = None,
    steps_before: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ψ_t of every step of a batch ``[N, T]`` (several episodes back to back per row).

    Ψ_t = γ^{k_t}·(W_t − b_t), then optionally standardised over the valid steps, where
    W_t = G(τ) (``weights="total_return"``) or G_t (``"reward_to_go"``), k_t is the step's
    index within its episode (only with ``discount_weighting``), and the baseline b_t is 0,
    the leave-one-out mean Σ_{j≠i} Σ_t W / Σ_{j≠i} n_j over the batch's other episodes
    (``"mean"``: independent of episode i, so unbiased; 0 for a batch of one episode), or
    V(s_t) = ``values`` (``"value"``).

    Args:
        rewards, terminated, truncated, valid: ``[N, T]`` as in `rlbasics.trajectory.Rollout`
            (invalid slots hold reward 0 and no flag).
        gamma: γ in [0, 1].
        values: ``[N, T]`` V(s_t), needed for ``baseline="value"``.
        bootstrap: ``[N, T]`` V(s_{t+1}), read where an episode was cut (0 if None).
        steps_before: ``[N]``, how many steps each row's first episode had taken before this
            batch (for k_t; 0 if None).

    Returns:
        ``(psi, returns, episode_ids)``: Ψ ``[N, T]`` (0 at invalid slots), the regression
        targets G_t ``[N, T]``, and each slot's episode number ``[N, T]`` (−1 if invalid).

    >>> ones = np.ones((1, 3)); done = np.array([[False, False, True]])
    >>> psi, returns, _ = policy_gradient_weights(ones, done, ~ones.astype(bool),
    ...     ones.astype(bool), gamma=0.5)   # G_t: 1 + 0.5·(1 + 0.5) = 1.75, 1.5, 1
    >>> psi
    array([[1.75, 1.5 , 1.  ]])
    """
    valid = np.asarray(valid, dtype=bool)
    returns = rewards_to_go(rewards, gamma, terminated=terminated, truncated=truncated,
                            bootstrap=bootstrap)
    n, length = valid.shape
    ended = (terminated | truncated) & valid
    previous_valid = np.zeros_like(valid)
    previous_valid[:, 1:] = valid[:, :-1]
    previous_ended = np.zeros_like(valid)
    previous_ended[:, 1:] = ended[:, :-1]
    starts = valid & (~previous_valid | previous_ended)
    episode_ids = np.where(valid, np.cumsum(starts.ravel()).reshape(n, length) - 1, -1)
    episodes = int(starts.sum())
    ids = episode_ids[valid]

    psi = returns[valid]
    if weights == "total_return":
        psi = returns[starts][ids]  # G(τ) is the reward-to-go at the episode's first step
    if baseline == "mean":
        sums = np.bincount(ids, weights=psi, minlength=episodes)
        counts = np.bincount(ids, minlength=episodes)
        others = counts.sum() - counts
        loo = np.divide(sums.sum() - sums, others, out=np.zeros(episodes), where=others > 0)
        psi = psi - loo[ids]
    elif baseline == "value":
        if values is None:
            raise ValueError("baseline='value' needs values [N, T] = V(s_t)")
        psi = psi - values[valid]
    if discount_weighting:
        time_index = np.arange(length)[None, :]
        episode_start = np.maximum.accumulate(np.where(starts, time_index, 0), axis=1)
        step_index = time_index - episode_start
        if steps_before is not None:  # a row's first episode may have begun in an earlier batch
            step_index = step_index + np.where(episode_start == 0, steps_before[:, None], 0)
        psi = psi * gamma ** step_index[valid].astype(float)
    if normalize and psi.size:
        # Population std: one valid step gives (Ψ − Ψ)/(0 + ε) = 0, not NaN.
        psi = (psi - psi.mean()) / (psi.std() + 1e-8)
    full = np.zeros((n, length))
    full[valid] = psi
    return full, returns, episode_ids
