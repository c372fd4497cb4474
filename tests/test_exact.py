"""rlbasics.exact against closed forms, hand solutions, plain loops, finite differences and
Monte Carlo. Every model is built here from arrays, so nothing depends on `envs`."""

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import pytest
import torch

from rlbasics.exact import (
    TabularModel,
    action_values,
    discounted_visitation,
    exact_gradient,
    expected_return,
    policy_gradient_theorem,
    policy_probabilities,
    state_values,
)

GAMMAS = [0.5, 0.9, 1.0]


# --- models ----------------------------------------------------------------------------


def short_corridor() -> TabularModel:
    """Sutton & Barto 2018, Example 13.1: states 0, 1, 2 and the goal 3; action 0 = left,
    1 = right, reversed in state 1; reward −1 per step; start in state 0."""
    transitions = np.zeros((4, 2, 4))
    for state, after_left, after_right in [(0, 0, 1), (1, 2, 0), (2, 1, 3), (3, 3, 3)]:
        transitions[state, 0, after_left] = transitions[state, 1, after_right] = 1.0
    return TabularModel(
        transitions=transitions,
        rewards=-np.ones((4, 2)),
        initial=np.array([1.0, 0.0, 0.0, 0.0]),
        terminal=np.array([False, False, False, True]),
    )


def corridor_value(p: float) -> float:
    """S&B Example 13.1: J(p) = (2p − 4) / (p (1 − p)) for p = P(right), γ = 1."""
    return (2 * p - 4) / (p * (1 - p))


def corridor_logits(p: float) -> np.ndarray:
    """Shared logits [left, right] with softmax = [1 − p, p]."""
    return np.array([0.0, math.log(p / (1 - p))])


def two_state_chain() -> TabularModel:
    """State 0: `go` (a0) → state 1 with r = 1, `quit` (a1) → goal with r = 0.
    State 1: `stay` (a0) → state 1 or the goal with probability 1/2 each, r = 2; `quit` (a1)
    → goal with r = 0. State 2 is the goal; start in state 0."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, 0, 1] = transitions[0, 1, 2] = transitions[1, 1, 2] = 1.0
    transitions[1, 0, 1] = transitions[1, 0, 2] = 0.5
    transitions[2, :, 2] = 1.0
    return TabularModel(
        transitions=transitions,
        rewards=np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]]),
        initial=np.array([1.0, 0.0, 0.0]),
        terminal=np.array([False, False, True]),
    )


def random_mdp(
    seed: int, num_live: int = 4, num_actions: int = 3, num_terminal: int = 1
) -> TabularModel:
    """A seeded random MDP. With terminal states, every non-terminal (s, a) moves to the first
    terminal state with probability ≥ 0.2, so every policy is proper and γ = 1 is allowed."""
    rng = np.random.default_rng(seed)
    num_states = num_live + num_terminal
    transitions = rng.dirichlet(np.ones(num_states), size=(num_states, num_actions))
    if num_terminal:
        transitions *= 0.8
        transitions[:, :, num_live] += 0.2
    initial = np.zeros(num_states)
    initial[:num_live] = rng.dirichlet(np.ones(num_live))
    return TabularModel(
        transitions=transitions,
        rewards=rng.normal(size=(num_states, num_actions)),
        initial=initial,
        terminal=np.arange(num_states) >= num_live,
    )


def random_logits(seed: int, model: TabularModel, shared: bool) -> np.ndarray:
    num_states, num_actions = model.rewards.shape
    shape = (num_actions,) if shared else (num_states, num_actions)
    return np.random.default_rng(seed + 1000).normal(size=shape)


def softmax(logits: np.ndarray) -> np.ndarray:
    exps = np.exp(logits - logits.max(-1, keepdims=True))
    return exps / exps.sum(-1, keepdims=True)


# --- independent references: plain loops, finite differences, sampling -----------------


def values_by_iteration(model: TabularModel, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Iterate V(s) ← Σ_a π(a|s) [R(s,a) + γ Σ_s' P(s'|s,a) V(s')] with V = 0 on terminal
    states, until it stops changing (the Bellman expectation operator, plain loops)."""
    num_states, num_actions = model.rewards.shape
    policy = np.broadcast_to(policy, (num_states, num_actions))
    values = np.zeros(num_states)
    for _ in range(100_000):
        new = np.zeros(num_states)
        for s in range(num_states):
            if model.terminal[s]:
                continue
            for a in range(num_actions):
                future = sum(model.transitions[s, a, t] * values[t] for t in range(num_states))
                new[s] += policy[s, a] * (model.rewards[s, a] + gamma * future)
        if np.abs(new - values).max() < 1e-14:
            return new
        values = new
    raise AssertionError("Bellman iteration did not converge")


def visitation_by_iteration(model: TabularModel, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Σ_t γ^t Pr(s_t = s) by pushing the state distribution forward one step at a time;
    probability that enters a terminal state leaves the episode."""
    num_states, num_actions = model.rewards.shape
    policy = np.broadcast_to(policy, (num_states, num_actions))
    occupancy = np.where(model.terminal, 0.0, model.initial)
    visits = np.zeros(num_states)
    discount = 1.0
    while discount * occupancy.sum() > 1e-15:
        visits += discount * occupancy
        following = np.zeros(num_states)
        for s in range(num_states):
            for a in range(num_actions):
                following += occupancy[s] * policy[s, a] * model.transitions[s, a]
        occupancy = np.where(model.terminal, 0.0, following)
        discount *= gamma
    return visits


def central_differences(function, point: np.ndarray, step: float = 1e-5) -> np.ndarray:
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        shift = np.zeros_like(point)
        shift[index] = step
        gradient[index] = (function(point + shift) - function(point - shift)) / (2 * step)
    return gradient


def sample_episodes(model, policy, gamma, starts, rng):
    """Run one episode from each start state, all in lockstep. Returns the discounted returns
    Σ_t γ^t r_t [N] and the discounted visit counts Σ_t γ^t 1[s_t = s] [N, S]."""
    num_states, num_actions = model.rewards.shape
    policy = np.broadcast_to(policy, (num_states, num_actions))
    states = np.array(starts)
    running = ~model.terminal[states]
    returns = np.zeros(len(states))
    visits = np.zeros((len(states), num_states))
    discount = 1.0
    while running.any():
        episodes = np.flatnonzero(running)
        here = states[episodes]
        visits[episodes, here] += discount
        # inverse-CDF sampling; min() guards against a cumulative sum of 1 − 1e-16
        actions = (rng.random((len(here), 1)) > policy[here].cumsum(1)).sum(1)
        actions = np.minimum(actions, num_actions - 1)
        returns[episodes] += discount * model.rewards[here, actions]
        cumulative = model.transitions[here, actions].cumsum(1)
        following = np.minimum((rng.random((len(here), 1)) > cumulative).sum(1), num_states - 1)
        states[episodes] = following
        running[episodes] = ~model.terminal[following]
        discount *= gamma
    return returns, visits


# --- closed forms ----------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_short_corridor_start_value_matches_closed_form(p):
    model = short_corridor()
    by_table = float(expected_return(model, [1 - p, p], gamma=1.0))
    by_logits = float(expected_return(model, policy_probabilities(corridor_logits(p)), 1.0))
    assert by_table == pytest.approx(corridor_value(p), rel=1e-12)
    assert by_logits == pytest.approx(corridor_value(p), rel=1e-12)
    # reward −1 per step: Σ_s d(s) = E[episode length] = −J
    visits = discounted_visitation(model, [1 - p, p], 1.0)
    assert float(visits.sum()) == pytest.approx(-corridor_value(p), rel=1e-12)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_short_corridor_gradient_matches_closed_form(p):
    # p = σ(θ_right − θ_left), dp/dθ_right = p(1 − p); J'(p) = (2p² − 8p + 4) / (p(1 − p))²
    # from the quotient rule on (2p − 4)/(p − p²), so ∂J/∂θ_right = (2p² − 8p + 4)/(p(1 − p)).
    slope = (2 * p**2 - 8 * p + 4) / (p * (1 - p))
    for gradient in (exact_gradient, policy_gradient_theorem):
        result = gradient(short_corridor(), corridor_logits(p), 1.0).numpy()
        np.testing.assert_allclose(result, [-slope, slope], rtol=1e-10)


def test_short_corridor_best_stochastic_policy():
    # J'(p) = 0 ⇔ p² − 4p + 2 = 0 ⇔ p* = 2 − √2; J(p*) = −2√2 / (3√2 − 4) = −(6 + 4√2).
    best = 2 - math.sqrt(2)
    model = short_corridor()
    assert float(expected_return(model, [1 - best, best], 1.0)) == pytest.approx(
        -(6 + 4 * math.sqrt(2)), rel=1e-12
    )
    for gradient in (exact_gradient, policy_gradient_theorem):
        np.testing.assert_allclose(gradient(model, corridor_logits(best), 1.0), 0, atol=1e-10)
    for nearby in (best - 0.01, best + 0.01):
        assert float(expected_return(model, [1 - nearby, nearby], 1.0)) < -(6 + 4 * math.sqrt(2))


def bandit(means) -> TabularModel:
    """State 0 pulls arm a for reward μ_a and moves to the terminal state 1."""
    transitions = np.zeros((2, len(means), 2))
    transitions[:, :, 1] = 1.0
    rewards = np.array([means, np.zeros(len(means))])
    return TabularModel(transitions, rewards, np.array([1.0, 0.0]), np.array([False, True]))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0])
def test_bandit_matches_closed_form(gamma):
    # One step: the reward comes at t = 0, so γ does not matter. J = Σ_a π(a) μ_a and
    # ∂J/∂θ_b = Σ_a μ_a π(a)(1[a = b] − π(b)) = π(b)(μ_b − J).
    means = np.array([1.0, -2.0, 0.5])
    logits = np.array([0.3, -0.7, 1.1])
    probs = softmax(logits)
    value = probs @ means
    model = bandit(means)
    assert float(expected_return(model, probs, gamma)) == pytest.approx(value, rel=1e-14)
    per_state_logits = np.stack([logits, [5.0, 0.0, -5.0]])  # the terminal row is never used
    for gradient in (exact_gradient, policy_gradient_theorem):
        np.testing.assert_allclose(gradient(model, logits, gamma), probs * (means - value))
        np.testing.assert_allclose(
            gradient(model, per_state_logits, gamma), [probs * (means - value), [0, 0, 0]]
        )


def test_bandit_constructor_builds_the_hand_written_bandit():
    built, by_hand = TabularModel.bandit([1.0, -2.0, 0.5]), bandit([1.0, -2.0, 0.5])
    for field in ("transitions", "rewards", "initial", "terminal"):
        np.testing.assert_array_equal(getattr(built, field), getattr(by_hand, field))


# Uniform policy on the two-state chain, solved by hand:
#   V(1) = ½(2 + γ·½V(1)) + ½·0  ⇒ V(1) = 1/(1 − γ/4);   V(0) = ½(1 + γV(1)) + ½·0
#   Q(0) = [1 + γV(1), 0];   Q(1) = [2 + γV(1)/2, 0]
#   d(0) = 1;  d(1) = γ·½·d(0) + γ·¼·d(1) ⇒ d(1) = (γ/2)/(1 − γ/4)
# γ = 0.5: V(1) = 8/7, V(0) = 11/14, Q(0) = [11/7, 0], Q(1) = [16/7, 0], d(1) = 2/7
# γ = 1:   V(1) = 4/3, V(0) = 7/6,   Q(0) = [7/3, 0],  Q(1) = [8/3, 0],  d(1) = 2/3
# γ = 0:   V = r_π = [1/2, 1],       Q = R,                              d(1) = 0
@pytest.mark.parametrize(
    "gamma, values, q, visits",
    [
        (0.5, [11 / 14, 8 / 7, 0], [[11 / 7, 0], [16 / 7, 0], [0, 0]], [1, 2 / 7, 0]),
        (1.0, [7 / 6, 4 / 3, 0], [[7 / 3, 0], [8 / 3, 0], [0, 0]], [1, 2 / 3, 0]),
        (0.0, [1 / 2, 1, 0], [[1, 0], [2, 0], [0, 0]], [1, 0, 0]),
    ],
)
def test_two_state_chain_matches_hand_solution(gamma, values, q, visits):
    model, uniform = two_state_chain(), np.full(2, 0.5)
    np.testing.assert_allclose(state_values(model, uniform, gamma), values, rtol=1e-14)
    np.testing.assert_allclose(action_values(model, uniform, gamma), q, rtol=1e-14)
    np.testing.assert_allclose(discounted_visitation(model, uniform, gamma), visits, rtol=1e-14)
    assert float(expected_return(model, uniform, gamma)) == pytest.approx(values[0], rel=1e-14)


# --- the two exact gradients against each other and against finite differences --------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shared", [False, True], ids=["per-state", "shared"])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_autograd_and_policy_gradient_theorem_agree_with_finite_differences(seed, shared, gamma):
    model = random_mdp(seed)
    logits = random_logits(seed, model, shared)
    by_autograd = exact_gradient(model, logits, gamma).numpy()
    by_theorem = policy_gradient_theorem(model, logits, gamma).numpy()

    def objective(theta):
        return float(expected_return(model, policy_probabilities(theta), gamma))

    by_differences = central_differences(objective, logits)
    assert by_autograd.shape == logits.shape
    assert np.abs(by_autograd).max() > 1e-2  # a zero gradient would make agreement vacuous
    np.testing.assert_allclose(by_autograd, by_theorem, rtol=0, atol=1e-8)
    np.testing.assert_allclose(by_autograd, by_differences, rtol=0, atol=1e-6)
    if not shared:  # no one acts in the terminal state: its logits do not matter
        np.testing.assert_array_equal(by_autograd[model.terminal], 0)


# --- values and visitation against plain loops and identities --------------------------


@pytest.mark.parametrize("shared", [False, True], ids=["per-state", "shared"])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_values_and_visitation_match_plain_loops_and_identities(shared, gamma):
    model = random_mdp(seed=7)
    policy = softmax(random_logits(7, model, shared))
    values = state_values(model, policy, gamma).numpy()
    q = action_values(model, policy, gamma).numpy()
    visits = discounted_visitation(model, policy, gamma).numpy()
    np.testing.assert_allclose(values, values_by_iteration(model, policy, gamma), atol=1e-11)
    np.testing.assert_allclose(visits, visitation_by_iteration(model, policy, gamma), atol=1e-11)
    # Q(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V(s') on non-terminal states, 0 on terminal ones
    expected_q = model.rewards + gamma * model.transitions @ values
    np.testing.assert_allclose(q[~model.terminal], expected_q[~model.terminal], atol=1e-12)
    np.testing.assert_array_equal(q[model.terminal], 0)
    full_policy = np.broadcast_to(policy, q.shape)
    np.testing.assert_allclose((full_policy * q).sum(1), values, atol=1e-12)  # V = Σ_a π Q
    value = float(expected_return(model, policy, gamma))
    assert value == pytest.approx(model.initial @ values, abs=1e-12)
    # J = Σ_s d(s) r_π(s): the same return counted by where it is earned
    assert value == pytest.approx(visits @ (full_policy * model.rewards).sum(1), abs=1e-12)


def test_visitation_sums_to_horizon_without_terminal_states():
    # nothing ends: Σ_s d(s) = Σ_t γ^t = 1/(1 − γ) = 10 for γ = 0.9
    model = random_mdp(seed=3, num_terminal=0)
    policy = softmax(random_logits(3, model, shared=False))
    assert float(discounted_visitation(model, policy, 0.9).sum()) == pytest.approx(10, rel=1e-12)


# --- Monte Carlo -----------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.9, 1.0])
def test_values_and_visitation_match_monte_carlo(gamma):
    # Each comparison is a mean of ≥ 2000 i.i.d. episodes against its expectation within 5
    # standard errors: by the CLT a false failure has probability ≈ 5.7e-7, so ≤ 9 × 5.7e-7
    # ≈ 5e-6 for the 9 comparisons of one γ (and the seed fixes the outcome anyway).
    model = random_mdp(seed=11)
    policy = softmax(random_logits(11, model, shared=False))
    rng = np.random.default_rng(12)
    live = np.flatnonzero(~model.terminal)

    values = state_values(model, policy, gamma).numpy()
    starts = np.repeat(live, 2000)
    returns, _ = sample_episodes(model, policy, gamma, starts, rng)
    for state in live:
        sample = returns[starts == state]
        error = abs(sample.mean() - values[state])
        assert error < 5 * sample.std(ddof=1) / math.sqrt(sample.size)

    starts = rng.choice(len(model.initial), size=8000, p=model.initial)
    returns, visits = sample_episodes(model, policy, gamma, starts, rng)
    value = float(expected_return(model, policy, gamma))
    assert abs(returns.mean() - value) < 5 * returns.std(ddof=1) / math.sqrt(returns.size)
    expected_visits = discounted_visitation(model, policy, gamma).numpy()
    standard_errors = visits.std(0, ddof=1) / math.sqrt(len(visits))
    assert (standard_errors[live] > 0).all()
    assert (np.abs(visits.mean(0) - expected_visits)[live] < 5 * standard_errors[live]).all()


# --- input types -----------------------------------------------------------------------


class MDPModel(NamedTuple):
    """The shape of envs.TabularMDP.model(), without importing envs."""

    transitions: torch.Tensor
    rewards: torch.Tensor
    initial: torch.Tensor
    terminal: torch.Tensor
    observe: str


def test_named_tuple_of_tensors_gives_the_same_numbers_as_numpy():
    model = random_mdp(seed=5)
    as_tensors = MDPModel(
        *(torch.as_tensor(getattr(model, f)) for f in ("transitions", "rewards", "initial")),
        torch.as_tensor(model.terminal),
        observe="state",
    )
    logits = random_logits(5, model, shared=False)
    for function in (exact_gradient, policy_gradient_theorem):
        np.testing.assert_array_equal(
            function(as_tensors, torch.as_tensor(logits), 0.9), function(model, logits, 0.9)
        )
    assert expected_return(as_tensors, softmax(logits), 0.9).dtype == torch.float64


def test_exact_gradient_works_under_no_grad_and_leaves_logits_alone():
    model = random_mdp(seed=6)
    logits = torch.zeros(5, 3, requires_grad=True)
    with torch.no_grad():
        gradient = exact_gradient(model, logits, 0.9)
    assert logits.grad is None
    np.testing.assert_allclose(gradient, policy_gradient_theorem(model, logits.detach(), 0.9))


def test_expected_return_is_differentiable_in_float32_logits():
    model = random_mdp(seed=8)
    logits = torch.zeros(3, requires_grad=True)
    expected_return(model, policy_probabilities(logits), 0.9).backward()
    assert logits.grad.dtype == torch.float32
    np.testing.assert_allclose(logits.grad, exact_gradient(model, logits.detach(), 0.9), 1e-5)


def test_policy_probabilities_is_a_stable_softmax():
    logits = np.array([[0.0, math.log(3.0)], [1000.0, 0.0]])
    np.testing.assert_allclose(policy_probabilities(logits), [[0.25, 0.75], [1.0, 0.0]])


def test_terminal_transition_rows_are_not_used():
    model = short_corridor()
    unused = model.transitions.copy()
    unused[3] = 0.0  # the goal's outgoing row: zeros, not a distribution
    ignored = dataclasses.replace(model, transitions=unused)
    assert float(expected_return(ignored, [0.5, 0.5], 1.0)) == corridor_value(0.5)


def test_initial_mass_on_a_terminal_state_is_an_empty_episode():
    # half the episodes start at the goal and earn 0: J = ½ J(p), Σ_s d(s) = ½ E[length]
    model = _corridor_with(initial=np.array([0.5, 0.0, 0.0, 0.5]))
    assert float(expected_return(model, [0.5, 0.5], 1.0)) == 0.5 * corridor_value(0.5)
    visits = discounted_visitation(model, [0.5, 0.5], 1.0)
    assert float(visits.sum()) == pytest.approx(-0.5 * corridor_value(0.5), rel=1e-12)
    assert float(visits[3]) == 0


# --- when J is infinite or undefined ---------------------------------------------------


@pytest.mark.parametrize(
    "policy, stuck",
    [
        ([1.0, 0.0], r"\[0, 1, 2\]"),  # always left: 0 ↺, 1 → 2 → 1 (left is reversed in 1)
        ([0.0, 1.0], r"\[0, 1\]"),  # always right: 0 → 1 → 0 (right is reversed in 1)
    ],
)
def test_undiscounted_policy_that_never_terminates_is_refused(policy, stuck):
    with pytest.raises(ValueError, match=rf"gamma = 1 but from states {stuck} the policy never"):
        expected_return(short_corridor(), policy, 1.0)
    # discounting makes the same policy well defined: −Σ_t γ^t = −1/(1 − γ) = −10 for 0.9
    if policy[0] == 1.0:
        assert float(expected_return(short_corridor(), policy, 0.9)) == pytest.approx(-10)


def test_softmax_that_underflows_to_a_looping_policy_is_refused():
    # exp(−2000) = 0 in float64: P(left) is exactly 0, so the policy loops between 0 and 1
    for function in (exact_gradient, policy_gradient_theorem):
        with pytest.raises(ValueError, match="never reaches a terminal state"):
            function(short_corridor(), [-1000.0, 1000.0], 1.0)


def test_no_terminal_states_with_gamma_one_is_refused():
    model = random_mdp(seed=3, num_terminal=0)
    with pytest.raises(ValueError, match=r"from states \[0, 1, 2, 3\] the policy never"):
        state_values(model, np.full(3, 1 / 3), 1.0)


def test_nearly_looping_policy_is_refused_as_ill_conditioned():
    # P(right) = 1e-13: proper in principle, but E[length] ~ 1e13 steps, beyond float64
    with pytest.raises(ValueError, match=r"ill-conditioned \(condition number .* > 1e\+10"):
        expected_return(short_corridor(), [1 - 1e-13, 1e-13], 1.0)


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gamma, error, message",
    [
        (1.5, ValueError, r"gamma must be in \[0, 1\], got 1.5"),
        (-0.1, ValueError, r"gamma must be in \[0, 1\], got -0.1"),
        (float("nan"), ValueError, r"gamma must be in \[0, 1\], got nan"),
        ("0.9", TypeError, "gamma must be a real number in \\[0, 1\\], got str"),
        (True, TypeError, "gamma must be a real number in \\[0, 1\\], got bool"),
    ],
)
def test_bad_gamma_is_refused(gamma, error, message):
    with pytest.raises(error, match=message):
        expected_return(short_corridor(), [0.5, 0.5], gamma)


@pytest.mark.parametrize(
    "policy, message",
    [
        (np.full(3, 1 / 3), r"policy must have shape \[S, A\] = \[4, 2\] or \[A\] = \[2\]"),
        (np.full((3, 2), 0.5), r"policy must have shape \[S, A\] = \[4, 2\]"),
        ([0.5, 0.6], r"policy\[:\] must be a probability distribution over actions"),
        ([-0.5, 1.5], r"policy\[:\] must be a probability distribution over actions"),
        ([[0.5, 0.5]] * 3 + [[1.0, 1.0]], r"policy\[3, :\] must be a probability distribution"),
        ([0.5, float("nan")], "policy must be finite, got nan at flat index 1"),
    ],
)
def test_bad_policy_is_refused(policy, message):
    with pytest.raises(ValueError, match=message):
        state_values(short_corridor(), policy, 0.9)


@pytest.mark.parametrize(
    "logits, message",
    [
        (np.zeros((3, 2)), r"logits must have shape \[S, A\] = \[4, 2\] or \[A\] = \[2\]"),
        (np.zeros(3), r"logits must have shape \[S, A\] = \[4, 2\] or \[A\] = \[2\]"),
        ([0.0, float("inf")], "logits must be finite, got inf at flat index 1"),
    ],
)
def test_bad_logits_are_refused(logits, message):
    for function in (exact_gradient, policy_gradient_theorem):
        with pytest.raises(ValueError, match=message):
            function(short_corridor(), logits, 0.9)


@pytest.mark.parametrize("logits", [np.zeros((2, 2, 2)), np.zeros((2, 0)), np.float64(1.0)])
def test_policy_probabilities_refuses_bad_shapes(logits):
    with pytest.raises(ValueError, match=r"logits must have shape \[S, A\] or \[A\] with A >= 1"):
        policy_probabilities(logits)


def _corridor_with(**changes) -> TabularModel:
    return dataclasses.replace(short_corridor(), **changes)


def _corridor_transitions_with_row(state, action, row) -> np.ndarray:
    transitions = short_corridor().transitions.copy()
    transitions[state, action] = row
    return transitions


@pytest.mark.parametrize(
    "model, error, message",
    [
        (object(), TypeError, r"model must have attributes .* object lacks \['transitions'"),
        (
            _corridor_with(transitions=np.zeros((4, 2, 3))),
            ValueError,
            r"model.transitions must have shape \[S, A, S\], got \[4, 2, 3\]",
        ),
        (
            _corridor_with(transitions=_corridor_transitions_with_row(0, 1, [0, 0.5, 0, 0])),
            ValueError,
            r"model.transitions\[0, 1, :\] must be a probability distribution over next states",
        ),
        (
            _corridor_with(transitions=_corridor_transitions_with_row(2, 0, [0, 1.5, 0, -0.5])),
            ValueError,
            r"model.transitions\[2, 0, :\] must be a probability distribution",
        ),
        (
            _corridor_with(transitions="corridor"),
            TypeError,
            "model.transitions must be a numpy array or torch tensor of numbers, got str",
        ),
        (
            _corridor_with(rewards=np.zeros((4, 2, 4))),
            ValueError,
            r"model.rewards must have shape \[S, A\] = \[4, 2\]",
        ),
        (
            _corridor_with(rewards=np.full((4, 2), np.nan)),
            ValueError,
            "model.rewards must be finite, got nan at flat index 0",
        ),
        (
            _corridor_with(initial=np.array([0.5, 0.0, 0.0, 0.0])),
            ValueError,
            r"model.initial\[:\] must be a probability distribution over states",
        ),
        (
            _corridor_with(initial=np.ones(3) / 3),
            ValueError,
            r"model.initial must have shape \[S\] = \[4\], got \[3\]",
        ),
        (
            _corridor_with(terminal=np.array([0, 0, 0, 1])),
            TypeError,
            "model.terminal must be a bool array, got dtype torch.int64",
        ),
        (
            _corridor_with(terminal=np.ones(4, dtype=bool)),
            ValueError,
            "model.terminal marks every state terminal",
        ),
    ],
)
def test_bad_model_is_refused(model, error, message):
    with pytest.raises(error, match=message):
        expected_return(model, [0.5, 0.5], 0.9)
