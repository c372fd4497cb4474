"""rlbasics.probability against enumeration of a joint table, brute-force grid posteriors,
grid argmaxes of the likelihood, closed forms, and scipy.stats."""

import numpy as np
import pytest
from scipy import stats

from rlbasics.probability import (
    Beta,
    bayes_rule,
    bernoulli_likelihood,
    bernoulli_log_likelihood,
    bernoulli_mle,
)


def test_bayes_rule_equals_enumerating_a_joint_table():
    rng = np.random.default_rng(0)
    joint = rng.dirichlet(np.ones(12)).reshape(4, 3)  # P(A = i, B = j): 4 hypotheses, 3 events
    prior = joint.sum(axis=1)  # P(A_i)
    likelihood = (joint / prior[:, None]).T  # row j: P(B = j | A_i) over the hypotheses i
    expected = (joint / joint.sum(axis=0)).T  # P(A_i | B = j) = P(A_i, B = j) / P(B = j)
    np.testing.assert_allclose(bayes_rule(prior, likelihood), expected, rtol=1e-12)


def test_bayes_rule_on_the_rare_disease():
    # prevalence 1 %, P(+|ill) = 0.99, P(+|healthy) = 0.05:
    # P(ill|+) = 0.0099 / (0.0099 + 0.0495) = 1/6
    posterior = bayes_rule([0.01, 0.99], [0.99, 0.05])
    np.testing.assert_allclose(posterior, [1 / 6, 5 / 6], rtol=1e-12)


def test_bernoulli_likelihood_and_its_log_follow_the_formula():
    f = np.array([[0.0], [0.2], [0.7], [1.0]])  # [4, 1] against y [2]: broadcast to [4, 2]
    y = np.array([0, 1])
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(bernoulli_likelihood(f, y), f**y * (1 - f) ** (1 - y))
        interior = f[1:3]
        np.testing.assert_allclose(bernoulli_log_likelihood(interior, y),
                                   y * np.log(interior) + (1 - y) * np.log(1 - interior))
        # impossible outcomes: log 0 = −inf, certain ones: log 1 = 0 (never NaN from 0·log 0)
        np.testing.assert_array_equal(bernoulli_log_likelihood(f[[0, 3]], y),
                                      [[0.0, -np.inf], [-np.inf, 0.0]])


@pytest.mark.parametrize(("probability", "n"), [(0.3, 37), (0.9, 10), (1.0, 5), (0.0, 4)])
def test_mle_is_the_argmax_of_the_log_likelihood_on_a_grid(probability, n):
    y = (np.random.default_rng(n).uniform(size=n) < probability).astype(int)
    grid = np.linspace(0.0, 1.0, 10_001)
    log_likelihood = bernoulli_log_likelihood(grid[:, None], y).sum(axis=1)
    assert bernoulli_mle(y) == pytest.approx(grid[np.argmax(log_likelihood)], abs=1e-4)
    assert bernoulli_mle(y) == y.mean()


def test_the_theorys_coin_frequentist_and_bayesian():
    flips = np.r_[np.ones(55), np.zeros(45)]
    assert bernoulli_mle(flips) == 0.55
    for alpha, beta in [(1, 1), (2, 2), (10, 30), (0.5, 0.5)]:
        posterior = Beta(alpha, beta).posterior(heads=55, tails=45)
        assert posterior == Beta(alpha + 55, beta + 45)
        assert posterior.mean == pytest.approx((alpha + 55) / (alpha + beta + 100), rel=1e-15)
    # with a prior centred at ½ the estimate is pulled from 0.55 towards ½: 57/104 ≈ 0.548
    assert 0.5 < Beta(2, 2).posterior(heads=55, tails=45).mean < 0.55


@pytest.mark.parametrize(("alpha", "beta", "heads", "tails"),
                         [(1, 1, 55, 45), (2, 5, 3, 9), (10, 10, 1, 0), (0.5, 0.5, 7, 2)])
def test_beta_posterior_equals_a_brute_force_grid_posterior(alpha, beta, heads, tails):
    # prior × likelihood on a grid of midpoints in (0, 1), normalised by its sum
    f = (np.arange(200_000) + 0.5) / 200_000
    unnormalised = f ** (alpha - 1) * (1 - f) ** (beta - 1) * f**heads * (1 - f) ** tails
    grid_posterior = unnormalised / unnormalised.sum()
    posterior = Beta(alpha, beta).posterior(heads=heads, tails=tails)
    assert posterior.mean == pytest.approx(np.sum(f * grid_posterior), abs=1e-6)
    assert posterior.mode == pytest.approx(f[np.argmax(grid_posterior)], abs=1e-5)


@pytest.mark.parametrize(("heads", "tails"), [(55, 45), (1, 9), (3, 1), (0, 4), (6, 0)])
def test_uniform_prior_mode_equals_the_mle(heads, tails):
    flips = np.r_[np.ones(heads), np.zeros(tails)]
    assert Beta(1, 1).posterior(heads=heads, tails=tails).mode == pytest.approx(
        bernoulli_mle(flips), abs=1e-15)


def test_mode_at_the_ends_and_where_there_is_none():
    assert Beta(0.5, 2).mode == 0.0 and Beta(1, 3).mode == 0.0 and Beta(0.5, 1).mode == 0.0
    assert Beta(2, 0.5).mode == 1.0 and Beta(3, 1).mode == 1.0 and Beta(1, 0.5).mode == 1.0
    for flat_or_bimodal in (Beta(1, 1), Beta(0.5, 0.5), Beta(0.5, 0.9)):
        with pytest.raises(ValueError, match="has no single mode"):
            _ = flat_or_bimodal.mode


def test_beta_pdf_and_credible_interval_match_scipy():
    x = np.linspace(0, 1, 101)
    for alpha, beta in [(56, 46), (2, 5), (1, 1), (1, 3), (0.5, 0.5), (3000, 2000)]:
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(Beta(alpha, beta).pdf(x), stats.beta.pdf(x, alpha, beta),
                                       rtol=1e-9, atol=1e-300)
    for alpha, beta, mass in [(56, 46, 0.95), (2, 5, 0.5), (1, 1, 0.9), (1, 8, 0.99)]:
        tail = (1 - mass) / 2
        np.testing.assert_allclose(Beta(alpha, beta).credible_interval(mass),
                                   stats.beta.ppf([tail, 1 - tail], alpha, beta), atol=1e-6)


def test_bad_input_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="prior must sum to 1 over the hypotheses"):
        bayes_rule([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"prior must be probabilities in \[0, 1\]"):
        bayes_rule([1.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"likelihood must be probabilities in \[0, 1\]"):
        bayes_rule([0.5, 0.5], [0.5, np.nan])
    with pytest.raises(ValueError, match=r"the evidence P\(B\) is 0"):
        bayes_rule([1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"last axis of hypotheses \[\.\.\., K\]"):
        bayes_rule(1.0, 0.5)
    with pytest.raises(TypeError, match="prior must be a real-valued array"):
        bayes_rule(["a", "b"], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"f must be probabilities in \[0, 1\]"):
        bernoulli_likelihood(1.2, 1)
    with pytest.raises(ValueError, match="y must hold Bernoulli outcomes 0 or 1"):
        bernoulli_log_likelihood(0.5, [0, 0.5])
    with pytest.raises(TypeError, match="y must be an array of 0/1 outcomes"):
        bernoulli_mle(["heads"])
    with pytest.raises(ValueError, match="y must hold at least one outcome"):
        bernoulli_mle([])
    with pytest.raises(ValueError, match="alpha must be > 0 and finite, got 0"):
        Beta(0, 1)
    with pytest.raises(ValueError, match="beta must be > 0 and finite, got inf"):
        Beta(1, np.inf)
    with pytest.raises(TypeError, match="alpha must be a real number, got '1'"):
        Beta("1", 1)
    with pytest.raises(ValueError, match="heads must be >= 0, got -1"):
        Beta(1, 1).posterior(heads=-1, tails=3)
    with pytest.raises(TypeError, match=r"tails must be an integer count, got 2\.5"):
        Beta(1, 1).posterior(heads=1, tails=2.5)
    with pytest.raises(ValueError, match=r"mass must be a number in \(0, 1\), got 1\.5"):
        Beta(2, 2).credible_interval(1.5)
    with pytest.raises(ValueError, match="credible_interval needs alpha, beta >= 1"):
        Beta(0.5, 2).credible_interval()
