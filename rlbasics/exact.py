"""Exact J(θ), V^π, Q^π, d^π and ∇J(θ) for small tabular MDPs: the ground truth for tests.

A policy-gradient estimator only *samples* the gradient of the expected return
J(θ) = E_τ[Σ_t γ^t r_t]. On a finite MDP whose model arrays are known, J(θ) is the solution
of a linear system, so it can be computed exactly; doing that in float64 torch lets autograd
differentiate through the solve and give the exact ∇J(θ). `policy_gradient_theorem` computes
the same gradient a second, independent way, so each check checks the other.

Model (S states, A actions; numpy arrays or torch tensors, any object with these attributes,
e.g. ``envs.TabularMDP(...).model()`` or a `TabularModel`):

===========  ===========  ============  ===============================================
symbol       attribute    shape         meaning
===========  ===========  ============  ===============================================
P(s'|s, a)   transitions  [S, A, S]     next-state distribution (rows sum to 1)
R(s, a)      rewards      [S, A]        expected reward r_t for taking a in s
μ0(s)        initial      [S]           distribution of s_0
1[terminal]  terminal     [S] bool      entering one ends the episode; its value is 0
===========  ===========  ============  ===============================================

A policy is a probability table π[s, a] = π(a|s) of shape ``[S, A]``, or ``[A]``: one
distribution shared by every state (when the observation hides the state, as in
ShortCorridor); every row must be a distribution, though rows of terminal states are never
used (no one acts there). The transition rows of terminal states are neither used nor checked.
Results are float64 torch tensors whatever the input type: the ground truth is float64.

Below, N is the set of non-terminal states and, for s, s' in N,
    P_π(s, s') = Σ_a π(a|s) P(s'|s, a),      r_π(s) = Σ_a π(a|s) R(s, a).

γ = 1 (episodic, undiscounted) needs a *proper* policy: one that reaches a terminal state
with probability 1 from every non-terminal state (the stochastic shortest path setting of
Bertsekas & Tsitsiklis 1996, ch. 2). Otherwise I − P_π is singular, V^π is infinite or
undefined, and a ValueError says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from rlbasics._numbers import is_real

__all__ = [
    "TabularModel",
    "TabularModelLike",
    "action_values",
    "discounted_visitation",
    "exact_gradient",
    "expected_return",
    "policy_gradient_theorem",
    "policy_probabilities",
    "state_values",
]

Array = np.ndarray | torch.Tensor

# Rows of transitions/initial/policy must sum to 1 within this (float32 tables pass).
_PROBABILITY_TOLERANCE = 1e-6
# cond(I − γ P_π) · eps64 bounds the relative error of the solve: above this, ~1e-6.
_MAX_CONDITION = 1e10


class TabularModelLike(Protocol):
    """Anything with the four model arrays (e.g. ``envs.TabularMDP(...).model()``)."""

    @property
    def transitions(self) -> Array: ...  # [S, A, S] P(s'|s, a)

    @property
    def rewards(self) -> Array: ...  # [S, A] R(s, a)

    @property
    def initial(self) -> Array: ...  # [S] μ0(s)

    @property
    def terminal(self) -> Array: ...  # [S] bool


@dataclass(frozen=True)
class TabularModel:
    """The model arrays of a finite MDP (see the module docstring for shapes and meaning).

    >>> bandit = TabularModel.bandit([1.0, 3.0])
    >>> bandit.rewards.tolist(), bandit.terminal.tolist()
    ([[1.0, 3.0], [0.0, 0.0]], [False, True])
    """

    transitions: Array
    rewards: Array
    initial: Array
    terminal: Array

    @classmethod
    def bandit(cls, means: Array | list[float]) -> TabularModel:
        """A k-armed bandit as an MDP: state 0 pulls arm a for reward μ_a, state 1 ends it."""
        means = np.asarray(means, dtype=np.float64)
        ends = np.zeros((2, means.size, 2))
        ends[:, :, 1] = 1.0
        return cls(
            transitions=ends,
            rewards=np.stack([means, np.zeros_like(means)]),
            initial=np.array([1.0, 0.0]),
            terminal=np.array([False, True]),
        )


def policy_probabilities(logits: Array) -> torch.Tensor:
    """Tabular softmax policy π(a|s) = exp θ[s, a] / Σ_b exp θ[s, b].

    ``logits`` θ: ``[S, A]`` (one row per state) or ``[A]`` (one row shared by every state).
    Returns π with the same shape, float64, differentiable in θ.

    >>> policy_probabilities([0.0, np.log(3.0)]).tolist()
    [0.25, 0.75]
    """
    logits = _float64("logits", logits)
    if logits.ndim not in (1, 2) or logits.shape[-1] == 0:
        raise ValueError(
            f"logits must have shape [S, A] or [A] with A >= 1, got {list(logits.shape)}"
        )
    # Subtracting the row maximum changes nothing mathematically and keeps exp() finite.
    # (Written out: torch.softmax and max(dim) dispatch to a thread pool that costs ~1 ms per
    # call on tiny tables, which adds up in finite-difference checks; amax does not.)
    exps = torch.exp(logits - logits.amax(dim=-1, keepdim=True).detach())
    return exps / exps.sum(dim=-1, keepdim=True)


def state_values(model: TabularModelLike, policy: Array, gamma: float) -> torch.Tensor:
    """V^π(s) = E_π[Σ_t γ^t r_t | s_0 = s], shape ``[S]``, by one linear solve.

    Bellman expectation equation (Sutton & Barto 2018, eq. 4.4) on non-terminal states:
        V(s) = r_π(s) + γ Σ_{s'∈N} P_π(s, s') V(s'),   i.e.  (I − γ P_π) V = r_π,
    and V(s) = 0 for terminal s.

    >>> state_values(TabularModel.bandit([1.0, 3.0]), [0.25, 0.75], gamma=1.0).tolist()
    [2.5, 0.0]
    """
    model, policy, gamma = _validated(model, policy, gamma)
    live = ~model.terminal
    system = _bellman_matrix(model, policy, gamma)
    reward_per_state = (policy * model.rewards).sum(-1)
    values = torch.zeros_like(reward_per_state)
    values[live] = torch.linalg.solve(system, reward_per_state[live])
    return values


def action_values(model: TabularModelLike, policy: Array, gamma: float) -> torch.Tensor:
    """Q^π(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V^π(s'), shape ``[S, A]``.

    V^π(s') = 0 for terminal s'; Q^π is set to 0 on terminal states, where no one acts.
    Consistency: V^π(s) = Σ_a π(a|s) Q^π(s, a).

    >>> action_values(TabularModel.bandit([1.0, 3.0]), [0.25, 0.75], gamma=1.0).tolist()
    [[1.0, 3.0], [0.0, 0.0]]
    """
    model, policy, gamma = _validated(model, policy, gamma)
    values = state_values(model, policy, gamma)
    q = model.rewards + gamma * model.transitions @ values
    return torch.where(model.terminal[:, None], 0.0, q)


def discounted_visitation(model: TabularModelLike, policy: Array, gamma: float) -> torch.Tensor:
    """d^π(s) = Σ_t γ^t Pr(s_t = s), shape ``[S]``: the *unnormalised* discounted visitation.

    It solves d = μ0 + γ P_πᵀ d on non-terminal states, i.e. (I − γ P_π)ᵀ d = μ0, and is 0
    on terminal states. This is the weighting of the policy-gradient theorem (Sutton et al.
    2000; Sutton & Barto 2018, §13.2), and J = Σ_s d^π(s) r_π(s).
    Σ_s d^π(s) = E[Σ_{t<T} γ^t]: the expected episode length T when γ = 1, 1/(1 − γ) when
    nothing terminates. The normalised distribution is d^π / Σ_s d^π(s): (1 − γ) d^π without
    terminal states, and Sutton & Barto's on-policy distribution μ(s) (§9.2) when γ = 1.

    >>> discounted_visitation(TabularModel.bandit([1.0, 3.0]), [0.25, 0.75], 0.9).tolist()
    [1.0, 0.0]
    """
    model, policy, gamma = _validated(model, policy, gamma)
    live = ~model.terminal
    system = _bellman_matrix(model, policy, gamma)
    visits = torch.zeros_like(model.initial)
    visits[live] = torch.linalg.solve(system.T, model.initial[live])
    return visits


def expected_return(model: TabularModelLike, policy: Array, gamma: float) -> torch.Tensor:
    """J = E_{s_0∼μ0}[V^π(s_0)] = Σ_s μ0(s) V^π(s), a float64 torch scalar.

    Differentiable in ``policy``: pass ``policy_probabilities(logits)`` with logits that
    require grad and ``torch.autograd.grad`` gives the exact ∇J(θ) (see `exact_gradient`).
    For a one-step bandit, J = Σ_a π(a) μ_a:

    >>> float(expected_return(TabularModel.bandit([1.0, 3.0]), [0.25, 0.75], gamma=1.0))
    2.5
    """
    model, policy, gamma = _validated(model, policy, gamma)
    return model.initial @ state_values(model, policy, gamma)


def exact_gradient(model: TabularModelLike, logits: Array, gamma: float) -> torch.Tensor:
    """∇_θ J(θ) for the softmax policy π = softmax(θ), by autograd through the linear solve.

    ``logits``: ``[S, A]`` or ``[A]`` (shared); the gradient has the same shape, float64.
    Bandit check: ∂J/∂θ_b = π(b) (μ_b − J); uniform π over μ = (1, 3) has J = 2:

    >>> exact_gradient(TabularModel.bandit([1.0, 3.0]), [0.0, 0.0], gamma=1.0).tolist()
    [-0.5, 0.5]
    """
    theta = _checked_logits(logits, model).detach().requires_grad_(True)
    with torch.enable_grad():  # the ground truth must work inside torch.no_grad() too
        objective = expected_return(model, policy_probabilities(theta), gamma)
        (gradient,) = torch.autograd.grad(objective, theta)
    return gradient


def policy_gradient_theorem(model: TabularModelLike, logits: Array, gamma: float) -> torch.Tensor:
    """∇J(θ) = Σ_s d^π(s) Σ_a ∇_θ π(a|s) Q^π(s, a), computed without autograd.

    Policy-gradient theorem (Sutton et al. 2000; Sutton & Barto 2018, §13.2), with d^π the
    unnormalised discounted visitation (`discounted_visitation`). For π = softmax(θ[s, :])
    the Jacobian is ∂π(a|s)/∂θ[s, b] = π(a|s) (1[a = b] − π(b|s)), so
        ∂J/∂θ[s, b] = d^π(s) Σ_a π(a|s) (1[a = b] − π(b|s)) Q^π(s, a).
    With shared logits θ[b] (``[A]``), every state uses them: the sum runs over s too.

    >>> policy_gradient_theorem(TabularModel.bandit([1.0, 3.0]), [0.0, 0.0], 1.0).tolist()
    [-0.5, 0.5]
    """
    theta = _checked_logits(logits, model)
    policy = policy_probabilities(theta)
    visits = discounted_visitation(model, policy, gamma)
    q = action_values(model, policy, gamma)
    probs = policy.expand_as(q)
    jacobian = torch.diag_embed(probs) - probs[:, :, None] * probs[:, None, :]  # [S, a, b]
    per_state = visits[:, None] * torch.einsum("sab,sa->sb", jacobian, q)
    return per_state if theta.ndim == 2 else per_state.sum(0)


# --- validation and the shared linear system -------------------------------------------


def _bellman_matrix(model: TabularModel, policy: torch.Tensor, gamma: float) -> torch.Tensor:
    """I − γ P_π on non-terminal states, refused when γ = 1 loops forever or it is ill-posed."""
    live = ~model.terminal
    next_state = torch.einsum("sa,sat->st", policy, model.transitions)  # P_π, all states
    if gamma == 1.0:
        never_ends = _states_that_never_terminate(next_state.detach().numpy(), model.terminal)
        if never_ends:
            raise ValueError(
                f"gamma = 1 but from states {never_ends} the policy never reaches a terminal "
                "state, so V and J are infinite or undefined there; use gamma < 1 or a policy "
                "that terminates with probability 1 from every state"
            )
    system = torch.eye(int(live.sum()), dtype=torch.float64) - gamma * next_state[live][:, live]
    condition = np.linalg.cond(system.detach().numpy())
    if not condition <= _MAX_CONDITION:
        raise ValueError(
            f"I - gamma * P_pi is ill-conditioned (condition number {condition:.3g} > "
            f"{_MAX_CONDITION:g}, gamma = {gamma}): the expected episode length or the horizon "
            "1/(1 - gamma) is too long for an exact float64 solve, so J is not returned"
        )
    return system


def _states_that_never_terminate(next_state: np.ndarray, terminal: torch.Tensor) -> list[int]:
    """States with no positive-probability path to a terminal state under P_π.

    In a finite chain, termination has probability 1 from every state iff a path to a
    terminal state exists from every state.
    """
    can_end = terminal.numpy().copy()
    while True:
        grown = can_end | (next_state[:, can_end] > 0).any(axis=1)
        if (grown == can_end).all():
            return np.flatnonzero(~can_end).tolist()
        can_end = grown


def _validated(
    model: TabularModelLike, policy: Array, gamma: float
) -> tuple[TabularModel, torch.Tensor, float]:
    model = _checked_model(model)
    num_states, num_actions = model.rewards.shape
    policy = _float64("policy", policy)
    _check_policy_shape("policy", policy, num_states, num_actions)
    _check_distribution("policy", policy, "actions")
    return model, policy.expand(num_states, num_actions), _checked_gamma(gamma)


def _checked_gamma(gamma: float) -> float:
    if not is_real(gamma):
        raise TypeError(f"gamma must be a real number in [0, 1], got {type(gamma).__name__}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    return float(gamma)


def _checked_logits(logits: Array, model: TabularModelLike) -> torch.Tensor:
    num_states, num_actions = _checked_model(model).rewards.shape
    logits = _float64("logits", logits)
    _check_policy_shape("logits", logits, num_states, num_actions)
    return logits


def _check_policy_shape(name: str, table: torch.Tensor, num_states: int, num_actions: int):
    if table.shape not in ((num_states, num_actions), (num_actions,)):
        raise ValueError(
            f"{name} must have shape [S, A] = [{num_states}, {num_actions}] or [A] = "
            f"[{num_actions}] (shared by every state), got {list(table.shape)}"
        )


def _checked_model(model: TabularModelLike) -> TabularModel:
    fields = ("transitions", "rewards", "initial", "terminal")
    missing = [field for field in fields if not hasattr(model, field)]
    if missing:
        raise TypeError(
            "model must have attributes transitions, rewards, initial, terminal (e.g. "
            f"TabularMDP.model() or a TabularModel); {type(model).__name__} lacks {missing}"
        )
    transitions = _float64("model.transitions", model.transitions)
    shape = list(transitions.shape)
    if transitions.ndim != 3 or shape[0] != shape[2] or 0 in shape:
        raise ValueError(f"model.transitions must have shape [S, A, S], got {shape}")
    num_states, num_actions = shape[:2]
    rewards = _float64("model.rewards", model.rewards)
    if rewards.shape != (num_states, num_actions):
        raise ValueError(
            f"model.rewards must have shape [S, A] = [{num_states}, {num_actions}] (expected "
            f"reward of a in s; reduce R[s, a, s'] to Σ_s' P R), got {list(rewards.shape)}"
        )
    initial = _float64("model.initial", model.initial)
    terminal = torch.as_tensor(model.terminal)
    for name, vector in (("model.initial", initial), ("model.terminal", terminal)):
        if vector.shape != (num_states,):
            raise ValueError(
                f"{name} must have shape [S] = [{num_states}], got {list(vector.shape)}"
            )
    if terminal.dtype != torch.bool:
        raise TypeError(f"model.terminal must be a bool array, got dtype {terminal.dtype}")
    if terminal.all():
        raise ValueError("model.terminal marks every state terminal; at least one must not be")
    _check_distribution("model.transitions", transitions, "next states", rows=~terminal[:, None])
    _check_distribution("model.initial", initial, "states")
    return TabularModel(transitions, rewards, initial, terminal)


def _check_distribution(
    name: str, probs: torch.Tensor, over: str, rows: torch.Tensor | None = None
) -> None:
    """Refuse any row (last axis) of ``probs`` that is not a distribution; ``rows`` masks."""
    sums = probs.sum(-1)
    bad = (probs < 0).any(-1) | ((sums - 1.0).abs() > _PROBABILITY_TOLERANCE)
    if rows is not None:
        bad = bad & rows
    if bad.any():
        index = tuple(torch.nonzero(bad)[0].tolist()) if bad.ndim else ()
        where = f"{name}[{', '.join([*map(str, index), ':'])}]"
        raise ValueError(
            f"{where} must be a probability distribution over {over} (entries >= 0 summing to "
            f"1 within {_PROBABILITY_TOLERANCE:g}), got {probs[index].tolist()} "
            f"(sum {float(sums[index]):.10g})"
        )


def _float64(name: str, values: Array) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"{name} must be a numpy array or torch tensor of numbers, got {type(values).__name__}"
        ) from error
    if not torch.isfinite(tensor).all():
        flat = tensor.reshape(-1)
        first = int(torch.nonzero(~torch.isfinite(flat))[0])
        raise ValueError(f"{name} must be finite, got {float(flat[first])} at flat index {first}")
    return tensor
