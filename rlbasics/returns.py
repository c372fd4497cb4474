"""Discounted returns: G(τ), rewards-to-go, n-step and λ-returns, TD errors and GAE.

One function per equation; all of them take numpy arrays or torch tensors with time on the
last axis, ``rewards: [..., T]`` (notation in :mod:`rlbasics`: r_t is the reward after
a_t in s_t, steps t = 0 … T−1).

Episodes back to back. A row may hold several episodes, as a vector env produces them. An
episode ends after a step flagged ``terminated`` (a terminal state: the future is 0) or
``truncated`` (cut short: the future is V(s_{t+1}), taken from ``bootstrap``). A row's last
step that did not terminate is an unfinished episode and is bootstrapped the same way. A
step flagged both is terminated (future 0). ``bootstrap`` is a scalar or an array of the
rewards' shape holding V(s_{t+1}), the value of the state after step t; it is read only
where an episode was cut (other entries are ignored and may be anything, even NaN) and is
0 when not given. ``values[..., t] = V(s_t)``; inside an episode V(s_{t+1}) is
``values[..., t+1]``.

Types. The result has the rewards' type and dtype (float64 for integer or bool rewards), a
torch result lives on the rewards' device. Sums accumulate in float64 whatever the dtype.
Returns are data, not part of a computation graph: torch results carry no gradient
(``values`` that require grad are detached), so use them as fixed targets and advantages.
CPU tensors are read and written in place through numpy, without copies.

Speed. The recurrences run in compiled numba kernels (:mod:`rlbasics._returns_kernels`),
which check the inputs for NaN and ±inf as they go (no separate validation pass). The first
call with new argument types (dtype, memory layout, which optional arguments are given)
compiles for a second or two; the code is cached on disk, so later runs only load it (under
a second for the first call of a process, numba's start-up included; tens of microseconds
per call after that). ``python benchmarks/returns.py`` measures all this.

References: Sutton & Barto (2018), *Reinforcement Learning: An Introduction*, 2nd ed.,
ch. 3 (returns), 7 (n-step), 12 (λ-returns); Schulman et al. (2016), *High-Dimensional
Continuous Control Using Generalized Advantage Estimation*, ICLR.
"""

from __future__ import annotations

import numpy as np

from rlbasics import _returns_kernels as kernels
from rlbasics._returns_inputs import ArrayOrTensor, Batch, check_fraction, check_horizon

Scalar = float | int


def discounted_return(rewards: ArrayOrTensor, gamma: float) -> ArrayOrTensor:
    """The discounted return of each trajectory, G(τ) = Σ_{t=0}^{T−1} γ^t r_t.

    Args:
        rewards: ``[..., T]``, one trajectory per row (treated as one episode).
        gamma: discount factor γ in [0, 1].

    Returns:
        ``[...]``, G(τ) per row (0 for an empty trajectory).

    Reference: Sutton & Barto (2018), eq. 3.8.

    >>> discounted_return(np.array([1.0, 1.0, 1.0]), gamma=0.5)  # 1 + 0.5 + 0.25
    np.float64(1.75)
    """
    gamma = check_fraction("gamma", gamma)
    batch = Batch.of(rewards)
    sums = np.empty(batch.rewards.shape[0], dtype=batch.kernel_dtype)
    kernel = kernels.discounted_sums_by_step if batch.time_major else kernels.discounted_sums_by_row
    batch.check_finite(kernel(batch.rewards, gamma, sums))
    return batch.finish(sums.reshape(batch.shape[:-1]))


def rewards_to_go(
    rewards: ArrayOrTensor,
    gamma: float,
    *,
    terminated: ArrayOrTensor | None = None,
    truncated: ArrayOrTensor | None = None,
    bootstrap: ArrayOrTensor | Scalar | None = None,
    out: ArrayOrTensor | None = None,
) -> ArrayOrTensor:
    """The rewards-to-go G_t = r_t + γ·G_{t+1} of every step, restarting at episode ends.

    G_t = Σ_{k=0}^{e−t} γ^k r_{t+k} + γ^{e−t+1}·c_e, where e ≥ t is the last step of t's
    episode and c_e its future: 0 if e terminated, else bootstrap[..., e] = V(s_{e+1}).

    Args:
        rewards: ``[..., T]``.
        gamma: discount factor γ in [0, 1].
        terminated, truncated: ``[..., T]`` bool, the episode ended after step t; a step
            flagged both counts as terminated (future 0).
        bootstrap: scalar or ``[..., T]``, V(s_{t+1}) read at truncated steps and at each
            row's last step when not terminated; 0 if None. One value per row, V(s_T), is
            ``np.broadcast_to(last_values[..., None], rewards.shape)`` (no copy).
        out: optional array or tensor of the result's shape and dtype to write into (it may
            be ``rewards`` itself; on error its contents are unspecified).

    Returns:
        ``[..., T]``, G_t (``out`` if given); data, without gradient for torch.

    Reference: Sutton & Barto (2018), eq. 3.9; Spinning Up's "reward-to-go".

    >>> rewards_to_go(np.array([1.0, 1.0, 1.0]), gamma=0.5)  # 1 + 0.5·(1 + 0.5·1) = 1.75
    array([1.75, 1.5 , 1.  ])

    Two episodes in one row: the first is cut after step 0 (bootstrapped: 1 + 0.5·4 = 3),
    the second terminates after step 2 (its future is 0):

    >>> rewards_to_go(np.array([1.0, 1.0, 1.0]), 0.5, truncated=np.array([True, False, False]),
    ...               terminated=np.array([False, False, True]), bootstrap=4.0)
    array([3. , 1.5, 1. ])
    """
    return _lambda_recurrence(rewards, None, gamma, 1.0, terminated, truncated, bootstrap,
                              advantage=False, out=out)


def lambda_returns(
    rewards: ArrayOrTensor,
    values: ArrayOrTensor,
    gamma: float,
    lam: float,
    *,
    terminated: ArrayOrTensor | None = None,
    truncated: ArrayOrTensor | None = None,
    bootstrap: ArrayOrTensor | Scalar | None = None,
) -> ArrayOrTensor:
    """The λ-return G^λ_t = r_t + γ[(1−λ)·V(s_{t+1}) + λ·G^λ_{t+1}] of every step.

    At the last step of an episode G^λ_t = r_t + γ·c_t (c_t = 0 if terminated, else
    bootstrap). Equivalently G^λ_t = (1−λ) Σ_n λ^{n−1} G^(n)_t, the λ-weighted average of
    n-step returns. λ = 1 gives the rewards-to-go, λ = 0 the TD(0) target r_t + γV(s_{t+1}).

    Args:
        rewards: ``[..., T]``.
        values: ``[..., T]``, V(s_t).
        gamma: discount factor γ in [0, 1].
        lam: λ in [0, 1].
        terminated, truncated, bootstrap: episode ends, as in :func:`rewards_to_go`.

    Returns:
        ``[..., T]``, G^λ_t.

    Reference: Sutton & Barto (2018), eq. 12.2–12.3 (recursive form as in rlax).

    G^λ_1 = 1 + 0.5·0 = 1 (unfinished end, bootstrap 0);
    G^λ_0 = 1 + 0.5·((1 − 0.5)·V(s_1) + 0.5·G^λ_1) = 1 + 0.5·(2 + 0.5) = 2.25:

    >>> lambda_returns(np.array([1.0, 1.0]), np.array([0.0, 4.0]), gamma=0.5, lam=0.5)
    array([2.25, 1.  ])
    """
    return _lambda_recurrence(rewards, values, gamma, lam, terminated, truncated, bootstrap,
                              advantage=False)


def generalized_advantage(
    rewards: ArrayOrTensor,
    values: ArrayOrTensor,
    gamma: float,
    lam: float,
    *,
    terminated: ArrayOrTensor | None = None,
    truncated: ArrayOrTensor | None = None,
    bootstrap: ArrayOrTensor | Scalar | None = None,
) -> ArrayOrTensor:
    """Generalized advantage estimates A_t = δ_t + γλ·A_{t+1} = G^λ_t − V(s_t).

    δ_t = r_t + γV(s_{t+1}) − V(s_t) is the TD error (:func:`td_errors`); the recursion
    restarts at episode ends, where A_t = δ_t with V(s_{t+1}) the cut value (0 if
    terminated, else bootstrap). λ = 0 gives δ_t; λ = 1 gives rewards-to-go − V(s_t).

    Args:
        rewards: ``[..., T]``.
        values: ``[..., T]``, V(s_t).
        gamma: discount factor γ in [0, 1].
        lam: λ in [0, 1].
        terminated, truncated, bootstrap: episode ends, as in :func:`rewards_to_go`.

    Returns:
        ``[..., T]``, A_t.

    Reference: Schulman et al. (2016), eq. 16.

    δ_1 = 1 + 0.5·2 − 1 = 1 (the unfinished end, bootstrapped with V(s_2) = 2);
    δ_0 = 1 + 0.5·1 − 1 = 0.5; A_0 = δ_0 + γλ·A_1 = 0.5 + 0.25·1 = 0.75:

    >>> generalized_advantage(np.array([1.0, 1.0]), np.array([1.0, 1.0]), 0.5, lam=0.5,
    ...                       bootstrap=2.0)
    array([0.75, 1.  ])
    """
    return _lambda_recurrence(rewards, values, gamma, lam, terminated, truncated, bootstrap,
                              advantage=True)


def td_errors(
    rewards: ArrayOrTensor,
    values: ArrayOrTensor,
    gamma: float,
    *,
    terminated: ArrayOrTensor | None = None,
    truncated: ArrayOrTensor | None = None,
    bootstrap: ArrayOrTensor | Scalar | None = None,
) -> ArrayOrTensor:
    """The TD errors δ_t = r_t + γ·V(s_{t+1}) − V(s_t), GAE with λ = 0.

    At the last step of an episode V(s_{t+1}) is the cut value (0 if terminated, else
    bootstrap).

    Args: as :func:`generalized_advantage`, without λ. Returns ``[..., T]``, δ_t.

    Reference: Sutton & Barto (2018), eq. 6.5; Schulman et al. (2016), eq. 9.

    >>> td_errors(np.array([1.0, 1.0]), np.array([1.0, 1.0]), gamma=0.5)  # 1 + 0.5·1 − 1; 1 − 1
    array([0.5, 0. ])
    """
    return generalized_advantage(rewards, values, gamma, 0.0, terminated=terminated,
                                 truncated=truncated, bootstrap=bootstrap)


def n_step_returns(
    rewards: ArrayOrTensor,
    values: ArrayOrTensor,
    gamma: float,
    n: int,
    *,
    terminated: ArrayOrTensor | None = None,
    truncated: ArrayOrTensor | None = None,
    bootstrap: ArrayOrTensor | Scalar | None = None,
) -> ArrayOrTensor:
    """The n-step return G^(n)_t = Σ_{k=0}^{n−1} γ^k r_{t+k} + γ^n V(s_{t+n}) of every step.

    Near an episode's last step e (t + n > e) the sum stops there and the episode's future
    takes the place of V: G^(n)_t = Σ_{k=0}^{e−t} γ^k r_{t+k} + γ^{e−t+1}·c_e (c_e = 0 if
    terminated, else bootstrap). n = 1 is the TD(0) target; n ≥ T the rewards-to-go.
    Takes O(1) time per step whatever n (a sliding window).

    Args:
        rewards: ``[..., T]``.
        values: ``[..., T]``, V(s_t).
        gamma: discount factor γ in [0, 1].
        n: the horizon, an integer ≥ 1.
        terminated, truncated, bootstrap: episode ends, as in :func:`rewards_to_go`.

    Returns:
        ``[..., T]``, G^(n)_t.

    Reference: Sutton & Barto (2018), eq. 7.1.

    >>> n_step_returns(np.array([1.0, 1.0, 1.0]), np.array([0.0, 8.0, 4.0]), 0.5, n=1)
    array([5., 3., 1.])
    >>> n_step_returns(np.array([1.0, 1.0, 1.0]), np.array([0.0, 8.0, 4.0]), 0.5, n=2)
    array([2.5, 1.5, 1. ])

    (n = 1: 1 + 0.5·8, 1 + 0.5·4, 1 + 0.5·0 at the end (bootstrap 0);
    n = 2: 1 + 0.5·1 + 0.25·4, then the sums reach the episode's end: 1 + 0.5·1, 1.)
    """
    gamma = check_fraction("gamma", gamma)
    n = check_horizon(n)
    batch = Batch.of(rewards, values=values, terminated=terminated, truncated=truncated,
                      bootstrap=bootstrap)
    horizon = min(n, batch.shape[-1] + 1)  # beyond T every sum reaches its episode's end
    result = np.empty(batch.rewards.shape, dtype=batch.kernel_dtype)
    batch.check_finite(kernels.n_step_returns(batch.rewards, batch.values, batch.bootstrap,
                                              batch.terminated, batch.truncated, gamma,
                                              horizon, result))
    return batch.finish(result.reshape(batch.shape))


def _lambda_recurrence(rewards, values, gamma, lam, terminated, truncated, bootstrap, *,
                       advantage, out=None):
    """Shared body of rewards_to_go, lambda_returns and generalized_advantage."""
    gamma = check_fraction("gamma", gamma)
    lam = check_fraction("lam", lam)
    batch = Batch.of(rewards, values=values, terminated=terminated, truncated=truncated,
                      bootstrap=bootstrap)
    result = batch.destination(out)
    kernel = kernels.lambda_returns_by_step if batch.time_major else kernels.lambda_returns_by_row
    batch.check_finite(kernel(batch.rewards, batch.values, batch.bootstrap, batch.terminated,
                              batch.truncated, gamma, lam, advantage, result))
    return batch.finish(result.reshape(batch.shape), out)
