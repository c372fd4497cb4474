"""rlbasics.losses against independent truth: plain-loop float64 formulas, scipy, closed forms,
torch.nn.functional, and the identities of information theory."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import norm

from rlbasics.losses import (
    binary_cross_entropy,
    cross_entropy,
    entropy,
    entropy_bonus,
    gaussian_nll,
    kl_divergence,
    mse,
    nll,
    policy_gradient_loss,
)

INF = math.inf
NAN = math.nan


def t64(values):
    return torch.tensor(values, dtype=torch.float64)


def assert_close(actual, expected, rtol=None, atol=None):
    """Same dtype and shape, values equal to torch.testing's default tolerances.

    (torch.testing.assert_close itself costs a 3 s import of torch.distributed here.)
    """
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    default_rtol, default_atol = (1e-7, 1e-7) if actual.dtype == torch.float64 else (1.3e-6, 1e-5)
    np.testing.assert_allclose(
        actual.detach().numpy(),
        expected.detach().numpy(),
        rtol=default_rtol if rtol is None else rtol,
        atol=default_atol if atol is None else atol,
    )


# --- plain-loop references (Python floats, one category at a time) -------------------------


def softmax_loop(logits):
    largest = max(logits)
    exps = [math.exp(z - largest) for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


def entropy_loop(p):
    return -sum(pi * math.log(pi) for pi in p if pi > 0)


def cross_entropy_loop(p, q):
    return -sum(pi * math.log(qi) for pi, qi in zip(p, q, strict=True) if pi > 0)


def kl_loop(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True) if pi > 0)


def random_logits(shape, seed, scale=3.0):
    return torch.from_numpy(np.random.default_rng(seed).normal(0.0, scale, size=shape))


# --- information theory --------------------------------------------------------------------


def test_entropy_cross_entropy_kl_match_plain_loops():
    p_logits, q_logits = random_logits((5, 4), seed=0), random_logits((5, 4), seed=1)
    h = entropy(p_logits)
    h_pq, kl = cross_entropy(p_logits, q_logits), kl_divergence(p_logits, q_logits)
    assert h.dtype == h_pq.dtype == kl.dtype == torch.float64
    for row in range(5):
        p, q = softmax_loop(p_logits[row].tolist()), softmax_loop(q_logits[row].tolist())
        assert h[row].item() == pytest.approx(entropy_loop(p), rel=1e-12)
        assert h_pq[row].item() == pytest.approx(cross_entropy_loop(p, q), rel=1e-12)
        assert kl[row].item() == pytest.approx(kl_loop(p, q), rel=1e-10)


def test_information_quantities_match_torch():
    p_logits, q_logits = random_logits((6, 5), seed=2), random_logits((6, 5), seed=3)
    log_p, log_q = F.log_softmax(p_logits, -1), F.log_softmax(q_logits, -1)
    assert_close(
        entropy(p_logits), torch.distributions.Categorical(logits=p_logits).entropy()
    )
    # F.cross_entropy with class probabilities as the target is H(p, q) per row.
    assert_close(
        cross_entropy(p_logits, q_logits),
        F.cross_entropy(q_logits, log_p.exp(), reduction="none"),
    )
    # F.kl_div(input=log q, target=log p) is the element-wise p (log p − log q).
    assert_close(
        kl_divergence(p_logits, q_logits),
        F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(-1),
    )


# Pairs of logit vectors of one length k ∈ [1, 8], entries in [-30, 30] (probabilities down
# to e^-60 ≈ 1e-26, well inside float64).
logit_pairs = st.integers(1, 8).flatmap(
    lambda k: st.tuples(
        arrays(np.float64, k, elements=st.floats(-30, 30)),
        arrays(np.float64, k, elements=st.floats(-30, 30)),
    )
)


@settings(max_examples=100, deadline=None)
@given(logit_pairs)
def test_cross_entropy_is_entropy_plus_kl(pair):
    p_logits, q_logits = (torch.from_numpy(a) for a in pair)
    assert_close(
        cross_entropy(p_logits, q_logits),
        entropy(p_logits) + kl_divergence(p_logits, q_logits),
        rtol=1e-10,
        atol=1e-10,
    )


@settings(max_examples=100, deadline=None)
@given(logit_pairs)
def test_kl_is_nonnegative_and_zero_only_for_equal_distributions(pair):
    p_logits, q_logits = (torch.from_numpy(a) for a in pair)
    p = np.array(softmax_loop(pair[0].tolist()))
    q = np.array(softmax_loop(pair[1].tolist()))
    # Pinsker's inequality D_KL(p‖q) ≥ ½‖p − q‖₁² (Cover & Thomas Lemma 11.6.1): D_KL ≥ 0,
    # and D_KL = 0 forces p = q. Slack 1e-12 for float64 rounding of nearly equal p, q.
    assert kl_divergence(p_logits, q_logits).item() >= 0.5 * np.abs(p - q).sum() ** 2 - 1e-12
    # Equality: the same distribution, also when written with logits shifted by a constant.
    assert kl_divergence(p_logits, p_logits).item() == 0.0
    assert kl_divergence(p_logits, p_logits + 7.0).item() == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8).flatmap(lambda k: arrays(np.float64, k, elements=st.floats(-30, 30))))
def test_entropy_is_between_zero_and_log_k(logits):
    h = entropy(torch.from_numpy(logits)).item()
    assert -1e-12 <= h <= math.log(len(logits)) + 1e-12


@pytest.mark.parametrize("k", [1, 2, 5, 100])
def test_uniform_distribution_has_maximal_entropy_log_k(k):
    assert entropy(torch.zeros(k, dtype=torch.float64)).item() == pytest.approx(math.log(k))
    assert entropy(torch.full((k,), -3.5, dtype=torch.float64)).item() == pytest.approx(math.log(k))
    # Any move away from uniform lowers it.
    nudged = torch.zeros(k, dtype=torch.float64)
    nudged[0] = 0.1
    if k > 1:
        assert entropy(nudged).item() < math.log(k)


def test_entropy_of_the_one_hot_limit_is_zero():
    # logits [c, 0, 0]: H → 0 as c → ∞, decreasing; at c = 1e4, p = [1, e^-1e4 = 0, 0] exactly.
    values = [entropy(torch.tensor([c, 0.0, 0.0])).item() for c in [0.0, 2.0, 10.0, 50.0]]
    assert values == sorted(values, reverse=True)
    assert entropy(torch.tensor([1e4, 0.0, 0.0])).item() == 0.0
    assert entropy(torch.tensor([0.0, -INF, -INF])).item() == 0.0


def test_minus_infinity_marks_an_impossible_category():
    # p = [½, ½, 0] written as log-probabilities: H = log 2; the −inf entry gets gradient 0.
    logits = torch.tensor([0.0, 0.0, -INF], requires_grad=True)
    h = entropy(logits)
    h.backward()
    assert h.item() == pytest.approx(math.log(2))
    assert torch.isfinite(logits.grad).all() and logits.grad[2].item() == 0.0
    # Empirical p_data = [0.75, 0.25, 0] under q = [0.5, 0.25, 0.25]:
    # H(p, q) = −(0.75 log 0.5 + 0.25 log 0.25), D_KL = 0.75 log 1.5 + 0.25 log 1.
    p_data, q = t64([0.75, 0.25, 0.0]), t64([0.5, 0.25, 0.25])
    assert cross_entropy(p_data.log(), q.log()).item() == pytest.approx(
        -(0.75 * math.log(0.5) + 0.25 * math.log(0.25))
    )
    assert kl_divergence(p_data.log(), q.log()).item() == pytest.approx(0.75 * math.log(1.5))
    # q gives probability 0 where p has mass: the cross-entropy is infinite, as in the math.
    assert cross_entropy(t64([0.0, 0.0]), t64([0.0, -INF])).item() == INF


# --- likelihood costs ----------------------------------------------------------------------


def test_nll_matches_plain_loop_and_torch():
    logits = random_logits((7, 3), seed=4)
    labels = torch.from_numpy(np.random.default_rng(5).integers(0, 3, size=7))
    rows = zip(logits.tolist(), labels.tolist(), strict=True)
    loop = [-math.log(softmax_loop(row)[y]) for row, y in rows]
    assert_close(nll(logits, labels, reduction="none"), t64(loop))
    assert nll(logits, labels).item() == pytest.approx(sum(loop) / 7)
    for reduction in ["mean", "sum", "none"]:
        assert_close(
            nll(logits, labels, reduction=reduction),
            F.cross_entropy(logits, labels, reduction=reduction),
        )
    # Extra batch axes: [2, 7, 3] logits with [2, 7] labels, one loss per (batch, example).
    stacked = torch.stack([logits, logits.flip(0)])
    stacked_labels = torch.stack([labels, labels.flip(0)])
    assert_close(
        nll(stacked, stacked_labels, reduction="none")[1], t64(loop).flip(0)
    )


def test_nll_is_cross_entropy_with_the_one_hot_label():
    logits = random_logits((4, 5), seed=6)
    labels = torch.tensor([0, 4, 2, 2])
    one_hot_log = torch.where(F.one_hot(labels, 5).bool(), 0.0, -INF).double()
    assert_close(
        nll(logits, labels, reduction="none"), cross_entropy(one_hot_log, logits)
    )


def test_binary_cross_entropy_matches_plain_loop_and_torch():
    rng = np.random.default_rng(7)
    logits = torch.from_numpy(rng.normal(0.0, 4.0, size=9))
    targets = torch.from_numpy(np.concatenate([rng.integers(0, 2, size=6), [0.3, 0.5, 0.9]]))
    loop = []
    for z, y in zip(logits.tolist(), targets.tolist(), strict=True):
        f = 1.0 / (1.0 + math.exp(-z))  # the Bernoulli parameter σ(z)
        loop.append(-(y * math.log(f) + (1 - y) * math.log(1 - f)))
    assert_close(binary_cross_entropy(logits, targets, reduction="none"), t64(loop))
    for reduction in ["mean", "sum", "none"]:
        assert_close(
            binary_cross_entropy(logits, targets, reduction=reduction),
            F.binary_cross_entropy_with_logits(logits, targets, reduction=reduction),
        )


def test_binary_cross_entropy_is_the_two_class_nll():
    # A Bernoulli with logit z is the softmax over logits [0, z]: σ(z) = e^z / (1 + e^z).
    logits = random_logits(6, seed=8)
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    two_class = torch.stack([torch.zeros_like(logits), logits], dim=-1)
    assert_close(
        binary_cross_entropy(logits, labels.double()), nll(two_class, labels)
    )


def test_gaussian_nll_matches_scipy_and_torch():
    rng = np.random.default_rng(9)
    mean, target = (torch.from_numpy(rng.normal(0.0, 2.0, size=(4, 3))) for _ in range(2))
    std = torch.from_numpy(rng.uniform(0.2, 3.0, size=(4, 3)))
    expected = -norm.logpdf(target.numpy(), loc=mean.numpy(), scale=std.numpy())
    assert_close(
        gaussian_nll(mean, target, std, reduction="none"), torch.from_numpy(expected)
    )
    for reduction in ["mean", "sum", "none"]:
        assert_close(
            gaussian_nll(mean, target, std, reduction=reduction),
            F.gaussian_nll_loss(mean, target, std**2, full=True, reduction=reduction),
        )
    # A state-independent σ per action dimension, [3], broadcast over the batch.
    std_per_dim = t64([0.5, 1.0, 2.0])
    expected = -norm.logpdf(target.numpy(), loc=mean.numpy(), scale=std_per_dim.numpy())
    assert_close(
        gaussian_nll(mean, target, std_per_dim, reduction="none"), torch.from_numpy(expected)
    )


def test_gaussian_nll_with_fixed_std_is_mse_up_to_constants():
    mean, target = random_logits(10, seed=10), random_logits(10, seed=11)
    sigma = 0.7
    # −log N(y; μ, σ²) averaged = mse / (2σ²) + log σ + ½ log 2π.
    assert_close(
        gaussian_nll(mean, target, sigma),
        mse(mean, target) / (2 * sigma**2) + math.log(sigma) + 0.5 * math.log(2 * math.pi),
    )


def test_gaussian_nll_gradient_reaches_a_log_std_parameter():
    # ∂/∂log σ [½((y − μ)/σ)² + log σ] = 1 − ((y − μ)/σ)²; with y − μ = 2, σ = e^0 = 1: −3.
    log_std = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    gaussian_nll(t64([0.0]), t64([2.0]), log_std.exp()).backward()
    assert log_std.grad.item() == pytest.approx(-3.0)


def test_mse_plain_mean_and_the_half_convention():
    prediction, target = random_logits(8, seed=12), random_logits(8, seed=13)
    squares = [(y - a) ** 2 for a, y in zip(prediction.tolist(), target.tolist(), strict=True)]
    assert mse(prediction, target).item() == pytest.approx(sum(squares) / 8)
    assert mse(prediction, target, half=True).item() == pytest.approx(sum(squares) / 16)
    for reduction in ["mean", "sum", "none"]:
        assert_close(
            mse(prediction, target, reduction=reduction),
            F.mse_loss(prediction, target, reduction=reduction),
        )


def test_quadratic_cost_of_vector_outputs_as_documented():
    # C = (1/2n) Σ_x ‖y(x) − a(x)‖² for n = 5 examples of d = 3 outputs, by loops.
    outputs, targets = random_logits((5, 3), seed=14), random_logits((5, 3), seed=15)
    cost = 0.0
    for a, y in zip(outputs.tolist(), targets.tolist(), strict=True):
        cost += sum((yj - aj) ** 2 for aj, yj in zip(a, y, strict=True))
    cost /= 2 * 5
    assert mse(outputs, targets, half=True, reduction="sum").item() / 5 == pytest.approx(cost)


def test_half_mse_gradient_is_the_output_error_over_n():
    # ∂C/∂a_i = (a_i − y_i)/n for C = (1/2n) Σ (y_i − a_i)².
    outputs = t64([1.0, -2.0, 0.5]).requires_grad_()
    targets = t64([0.0, 1.0, 0.5])
    mse(outputs, targets, half=True).backward()
    assert_close(outputs.grad, (outputs.detach() - targets) / 3)


# --- extreme inputs ------------------------------------------------------------------------

EXTREME = [[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]

EXTREME_CASES = {
    "entropy": lambda x: entropy(x),
    "cross_entropy": lambda x: cross_entropy(x, x.flip(-1)),
    "kl_divergence": lambda x: kl_divergence(x, x.flip(-1)),
    "nll": lambda x: nll(x, torch.tensor([1, 0]), reduction="none"),
    "binary_cross_entropy": lambda x: binary_cross_entropy(
        x, torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.3]]), reduction="none"
    ),
    "gaussian_nll": lambda x: gaussian_nll(x, -x, std=0.01, reduction="none"),
    "mse": lambda x: mse(x, -x, reduction="none"),
    "policy_gradient_loss": lambda x: policy_gradient_loss(
        F.log_softmax(x, -1), torch.full((2, 3), 1e4), reduction="none"
    ),
    "entropy_bonus": lambda x: entropy_bonus(entropy(x), 0.01, reduction="none"),
}


@pytest.mark.parametrize("name", list(EXTREME_CASES))
def test_extreme_inputs_give_finite_values_and_gradients(name):
    logits = torch.tensor(EXTREME, requires_grad=True)
    value = EXTREME_CASES[name](logits)
    value.sum().backward()
    assert torch.isfinite(value).all(), value
    assert torch.isfinite(logits.grad).all(), logits.grad


def test_extreme_logits_give_the_exact_limits():
    # The probabilities are exactly 0 and 1 in float32, so the limits are exact:
    # nll: −log softmax([1e4, −1e4])[1] = 2e4; bce: −log σ(1e4) = 0, −log(1 − σ(1e4)) = 1e4;
    # KL(one-hot on 0 ‖ softmax([−1e4, 1e4])) = 0 − log q_0 = 2e4.
    assert nll(torch.tensor([[1e4, -1e4]]), torch.tensor([1])).item() == 2e4
    bce = binary_cross_entropy(
        torch.tensor([1e4, 1e4, -1e4]), torch.tensor([1.0, 0.0, 0.0]), reduction="none"
    )
    assert bce.tolist() == [0.0, 1e4, 0.0]
    assert kl_divergence(torch.tensor([1e4, -1e4]), torch.tensor([-1e4, 1e4])).item() == 2e4


# --- the policy-gradient surrogate ---------------------------------------------------------


def tabular_batch(seed):
    """A tabular softmax policy θ[s, a] (3 states, 4 actions) and a padded [2, 4] batch."""
    rng = np.random.default_rng(seed)
    theta = torch.from_numpy(rng.normal(size=(3, 4))).requires_grad_()
    states = torch.from_numpy(rng.integers(0, 3, size=(2, 4)))
    actions = torch.from_numpy(rng.integers(0, 4, size=(2, 4)))
    weights = torch.from_numpy(rng.normal(size=(2, 4)))
    # Episode 1 has 2 steps, padded to 4; huge weights there would dominate if counted.
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    weights[~mask] = 1e3
    return theta, states, actions, weights, mask


def log_probs_of(theta, states, actions):
    return F.log_softmax(theta[states], dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def surrogate_gradient_by_hand(theta, states, actions, weights, mask, divide_by):
    # ∇_θ[s, b] log softmax(θ[s])[a] = 1[b = a] − π(b|s); the loss is −Σ_valid (...) Ψ / divide_by.
    pi = [softmax_loop(row) for row in theta.tolist()]
    grad = np.zeros((3, 4))
    for i in range(2):
        for t in range(4):
            if mask[i, t]:
                s, a, psi = states[i, t].item(), actions[i, t].item(), weights[i, t].item()
                for b in range(4):
                    grad[s, b] -= psi * ((b == a) - pi[s][b]) / divide_by
    return torch.from_numpy(grad)


@pytest.mark.parametrize(("reduction", "divide_by"), [("mean", 6), ("sum", 1)])
def test_policy_gradient_matches_the_score_function_by_hand(reduction, divide_by):
    theta, states, actions, weights, mask = tabular_batch(seed=16)
    log_probs = log_probs_of(theta, states, actions)
    loss = policy_gradient_loss(log_probs, weights, mask, reduction=reduction)
    loss.backward()
    expected_value = -sum(
        log_probs[i, t].item() * weights[i, t].item()
        for i in range(2)
        for t in range(4)
        if mask[i, t]
    )
    assert loss.item() == pytest.approx(expected_value / divide_by)  # 6 valid steps
    assert_close(
        theta.grad, surrogate_gradient_by_hand(theta, states, actions, weights, mask, divide_by)
    )


def test_policy_gradient_without_mask_averages_every_step():
    theta, states, actions, weights, _ = tabular_batch(seed=17)
    policy_gradient_loss(log_probs_of(theta, states, actions), weights).backward()
    every_step = torch.ones(2, 4, dtype=torch.bool)
    assert_close(
        theta.grad, surrogate_gradient_by_hand(theta, states, actions, weights, every_step, 8)
    )


def test_policy_gradient_weights_receive_no_gradient():
    theta, states, actions, weights, mask = tabular_batch(seed=18)
    weights.requires_grad_()  # e.g. advantages computed from a value network
    policy_gradient_loss(log_probs_of(theta, states, actions), weights, mask).backward()
    assert weights.grad is None
    assert theta.grad is not None


def test_policy_gradient_per_step_terms_are_zero_at_padded_steps():
    log_probs = t64([[-1.0, -2.0], [-0.5, 0.0]])
    weights = t64([[1.0, 3.0], [2.0, 100.0]])
    mask = torch.tensor([[True, True], [True, False]])
    # −log π · Ψ: [[1, 6], [1, padded → 0]]; mean over the 3 valid steps = 8/3.
    per_step = policy_gradient_loss(log_probs, weights, mask, reduction="none")
    assert per_step.tolist() == [[1.0, 6.0], [1.0, 0.0]]
    assert policy_gradient_loss(log_probs, weights, mask).item() == pytest.approx(8 / 3)


def test_policy_gradient_on_a_single_step_batch():
    log_prob = torch.tensor([-0.7], requires_grad=True)
    loss = policy_gradient_loss(log_prob, torch.tensor([2.0]))
    loss.backward()
    assert loss.item() == pytest.approx(1.4)  # −(−0.7 · 2)
    assert log_prob.grad.item() == pytest.approx(-2.0)


def test_entropy_bonus_value_and_direction():
    # −β · mean of the valid entropies: β = 0.5, H = [1, 2] valid, 100 padded → −0.75.
    entropies = torch.tensor([1.0, 2.0, 100.0])
    mask = torch.tensor([True, True, False])
    assert entropy_bonus(entropies, 0.5, mask).item() == pytest.approx(-0.75)
    assert entropy_bonus(entropies, 0.0, mask).item() == 0.0
    # A gradient-descent step on the bonus raises the policy's entropy.
    logits = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    entropy_bonus(entropy(logits), 0.1).backward()
    with torch.no_grad():
        assert entropy(logits - 1.0 * logits.grad).item() > entropy(logits).item()


# --- bad input -----------------------------------------------------------------------------

x3 = torch.zeros(3)
labels2 = torch.tensor([0, 1])
logits23 = torch.zeros(2, 3)

BAD_INPUTS = [
    ("logits not a tensor", lambda: entropy(np.zeros(3)), TypeError,
     "logits must be a torch.Tensor, got ndarray"),
    ("integer logits", lambda: entropy(torch.zeros(3, dtype=torch.int64)), TypeError,
     "logits must be a floating-point tensor, got torch.int64"),
    ("scalar logits", lambda: entropy(torch.tensor(1.0)), ValueError, r"k >= 1 .* got \(\)"),
    ("no categories", lambda: entropy(torch.zeros(2, 0)), ValueError, r"got \(2, 0\)"),
    ("NaN logits", lambda: entropy(torch.tensor([0.0, NAN])), ValueError,
     "logits must be finite or -inf .* largest entry is nan"),
    ("+inf logits", lambda: entropy(torch.tensor([0.0, INF])), ValueError,
     "largest entry is inf"),
    ("all -inf row", lambda: entropy(torch.tensor([[0.0, 1.0], [-INF, -INF]])), ValueError,
     "largest entry is -inf"),
    ("cross_entropy shapes", lambda: cross_entropy(torch.zeros(2, 3), torch.zeros(3)),
     ValueError, r"p_logits and q_logits must have the same shape, got \(2, 3\) and \(3,\)"),
    ("kl NaN q", lambda: kl_divergence(x3, torch.tensor([0.0, NAN, 0.0])), ValueError,
     "q_logits must be finite or -inf"),
    ("kl q not a tensor", lambda: kl_divergence(x3, [0.0, 0.0, 0.0]), TypeError,
     "q_logits must be a torch.Tensor, got list"),
    ("labels not a tensor", lambda: nll(logits23, [0, 1]), TypeError,
     "labels must be a torch.Tensor, got list"),
    ("float labels", lambda: nll(logits23, torch.tensor([0.0, 1.0])), TypeError,
     "labels must be an integer tensor .* got torch.float32"),
    ("bool labels", lambda: nll(logits23, torch.tensor([True, False])), TypeError,
     "labels must be an integer tensor"),
    ("labels shape", lambda: nll(logits23, torch.tensor([0, 1, 2])), ValueError,
     r"labels must have shape logits.shape\[:-1\] = \(2,\), got \(3,\)"),
    ("label too big", lambda: nll(logits23, torch.tensor([0, 3])), ValueError,
     r"labels must be in \[0, 3\), got 3"),
    ("negative label", lambda: nll(logits23, torch.tensor([-1, 0])), ValueError,
     r"labels must be in \[0, 3\), got -1"),
    ("bad reduction", lambda: nll(logits23, labels2, reduction="avg"), ValueError,
     r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"),
    ("empty mean", lambda: nll(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64)),
     ValueError, "reduction='mean' needs at least one element"),
    ("target above 1", lambda: binary_cross_entropy(x3, torch.tensor([0.0, 1.5, 1.0])),
     ValueError, r"targets must be in \[0, 1\], got 1.5"),
    ("target below 0", lambda: binary_cross_entropy(x3, torch.tensor([-0.1, 0.0, 1.0])),
     ValueError, r"targets must be in \[0, 1\], got -0.1"),
    ("NaN target", lambda: binary_cross_entropy(x3, torch.tensor([0.0, NAN, 1.0])),
     ValueError, r"targets must be in \[0, 1\], got nan"),
    ("integer targets", lambda: binary_cross_entropy(x3, torch.tensor([0, 1, 1])), TypeError,
     "targets must be a floating-point tensor, got torch.int64"),
    ("bce inf logit", lambda: binary_cross_entropy(torch.tensor([INF]), torch.tensor([1.0])),
     ValueError, "logits must be finite, got inf"),
    ("bce broadcast trap", lambda: binary_cross_entropy(x3, torch.zeros(3, 1)), ValueError,
     r"logits and targets must have the same shape, got \(3,\) and \(3, 1\)"),
    ("zero std", lambda: gaussian_nll(x3, x3, 0.0), ValueError,
     "std must be positive and finite, got 0.0"),
    ("negative std", lambda: gaussian_nll(x3, x3, torch.tensor([1.0, -2.0, 1.0])), ValueError,
     "std must be positive and finite, got -2.0"),
    ("NaN std", lambda: gaussian_nll(x3, x3, NAN), ValueError,
     "std must be positive and finite, got nan"),
    ("std as string", lambda: gaussian_nll(x3, x3, "1"), TypeError,
     "std must be a float or a torch.Tensor, got str"),
    ("std as bool", lambda: gaussian_nll(x3, x3, True), TypeError,
     "std must be a float or a torch.Tensor, got bool"),
    ("std too wide", lambda: gaussian_nll(x3, x3, torch.ones(2, 3)), ValueError,
     r"std must broadcast to mean's shape \(3,\), got \(2, 3\)"),
    ("std wrong length", lambda: gaussian_nll(x3, x3, torch.ones(2)), ValueError,
     r"std must broadcast to mean's shape \(3,\), got \(2,\)"),
    ("NaN mean", lambda: gaussian_nll(torch.tensor([NAN, 0.0, 0.0]), x3, 1.0), ValueError,
     "mean must be finite, got nan"),
    ("gaussian shapes", lambda: gaussian_nll(x3, torch.zeros(3, 1), 1.0), ValueError,
     r"mean and target must have the same shape"),
    ("mse broadcast trap", lambda: mse(x3, torch.zeros(3, 1)), ValueError,
     r"prediction and target must have the same shape, got \(3,\) and \(3, 1\)"),
    ("mse NaN target", lambda: mse(x3, torch.tensor([0.0, 0.0, NAN])), ValueError,
     "target must be finite, got nan"),
    ("mse half not bool", lambda: mse(x3, x3, half="yes"), TypeError,
     "half must be a bool, got str"),
    ("mse bad reduction", lambda: mse(x3, x3, reduction=None), ValueError,
     "reduction must be one of .* got None"),
    ("pg shapes", lambda: policy_gradient_loss(torch.zeros(2, 3), torch.zeros(3)), ValueError,
     r"log_probs and weights must have the same shape, got \(2, 3\) and \(3,\)"),
    ("pg -inf log prob", lambda: policy_gradient_loss(torch.tensor([-INF]), torch.ones(1)),
     ValueError, "log_probs must be finite, got -inf"),
    ("pg NaN weights", lambda: policy_gradient_loss(x3, torch.tensor([1.0, NAN, 1.0])),
     ValueError, "weights must be finite, got nan"),
    ("pg float mask", lambda: policy_gradient_loss(x3, x3, torch.ones(3)), TypeError,
     "mask must be a bool tensor .* got torch.float32"),
    ("pg mask shape", lambda: policy_gradient_loss(x3, x3, torch.ones(2, dtype=torch.bool)),
     ValueError, r"mask must have the same shape as the steps \(3,\), got \(2,\)"),
    ("pg all-false mask", lambda: policy_gradient_loss(x3, x3, torch.zeros(3, dtype=torch.bool)),
     ValueError, "mask must mark at least one valid step"),
    ("pg bad reduction", lambda: policy_gradient_loss(x3, x3, reduction="max"), ValueError,
     "reduction must be one of .* got 'max'"),
    ("negative coefficient", lambda: entropy_bonus(x3, -0.1), ValueError,
     "coefficient must be a finite number >= 0, got -0.1"),
    ("NaN coefficient", lambda: entropy_bonus(x3, NAN), ValueError,
     "coefficient must be a finite number >= 0, got nan"),
    ("coefficient as string", lambda: entropy_bonus(x3, "0.1"), TypeError,
     "coefficient must be a float, got str"),
    ("NaN entropies", lambda: entropy_bonus(torch.tensor([NAN]), 0.1), ValueError,
     "entropies must be finite, got nan"),
    ("bonus all-false mask", lambda: entropy_bonus(x3, 0.1, torch.zeros(3, dtype=torch.bool)),
     ValueError, "mask must mark at least one valid step"),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
