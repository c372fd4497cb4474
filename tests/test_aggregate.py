"""IQM, stratified bootstrap, grid interpolation and smoothing against independent references."""

import numpy as np
import pytest
from scipy import stats

from rlbasics.aggregate import (
    exponential_moving_average,
    interpolate_to_grid,
    interquartile_mean,
    mean_ignoring_nan,
    moving_average,
    stratified_bootstrap_ci,
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (list(range(1, 9)), 4.5),  # n=8, k=2: mean(3, 4, 5, 6)
        ([1, 2, 3, 4, 5], 3.0),  # n=5, k=1: mean(2, 3, 4)
        ([100, 1, 2, 3], 2.5),  # n=4, k=1: the outlier 100 and the 1 are dropped
        ([7.0], 7.0),  # n=1, k=0
        ([1, 3, 2], 2.0),  # n=3, k=0: the plain mean
    ],
)
def test_iqm_by_hand(values, expected):
    assert interquartile_mean(values) == pytest.approx(expected)


def test_iqm_matches_scipy_trim_mean():
    rng = np.random.default_rng(0)
    for n in range(1, 30):
        x = rng.standard_cauchy(size=(3, n))  # heavy tails: the trimming matters
        np.testing.assert_allclose(interquartile_mean(x, axis=1), stats.trim_mean(x, 0.25, axis=1))
        np.testing.assert_allclose(interquartile_mean(x.T, axis=0), stats.trim_mean(x.T, 0.25))
        assert interquartile_mean(x) == pytest.approx(stats.trim_mean(x, 0.25, axis=None))


def test_iqm_ignoring_nan_uses_each_slice_own_values():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 11))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[2] = np.nan
    result = interquartile_mean(x, axis=1, ignore_nan=True)  # no RuntimeWarning (an error here)
    for row, value in zip(x, result, strict=True):
        present = row[~np.isnan(row)]
        expected = stats.trim_mean(present, 0.25) if present.size else np.nan
        np.testing.assert_allclose(value, expected)
    assert np.isnan(result[2])


def test_iqm_rejects_nan_unless_asked_and_empty_input():
    with pytest.raises(ValueError, match="x contains NaN; pass ignore_nan=True"):
        interquartile_mean([1.0, np.nan])
    with pytest.raises(ValueError, match=r"at least one value along axis 0, got shape \(0,\)"):
        interquartile_mean([])


def test_mean_ignoring_nan_matches_a_plain_loop():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2.0, 2.0, 5.0]])
    expected = [np.mean([v for v in row if not np.isnan(v)]) if not np.isnan(row).all()
                else np.nan for row in x]
    np.testing.assert_allclose(mean_ignoring_nan(x, axis=1), expected)


def test_stratified_bootstrap_resamples_within_each_task():
    # Task A's runs all score 0, task B's all 1. Resampling within tasks always draws three
    # 0s and three 1s, so every replicate's mean is exactly 0.5: a zero-width interval.
    estimate, lower, upper = stratified_bootstrap_ci([[0.0] * 3, [1.0] * 3], "mean", rng=0)
    assert (estimate, lower, upper) == (0.5, 0.5, 0.5)
    # Pooling the six runs as one task mixes the 0s and 1s: the interval widens.
    _, lower, upper = stratified_bootstrap_ci([[0.0] * 3 + [1.0] * 3], "mean", rng=0)
    assert upper - lower > 0.3


def test_bootstrap_interval_covers_the_true_value_about_95_percent_of_the_time():
    # 300 synthetic experiments. The percentile interval of a mean from n=20 (or 10 per
    # stratum) normal draws covers at ~0.93 (it under-covers a little at small n); with 300
    # trials the observed rate has sd sqrt(.93·.07/300) ≈ 0.015, so [0.87, 0.99] is ±4 sd:
    # a false failure has probability < 1e-4 (and the seed is fixed).
    rng = np.random.default_rng(12345)
    trials = 300
    covered = {"mean": 0, "iqm": 0, "stratified": 0, "pooled": 0}
    for _ in range(trials):
        seeds = rng.normal(3.0, 2.0, size=20)  # IQM of a symmetric law = its mean = 3
        for name in ("mean", "iqm"):
            _, lower, upper = stratified_bootstrap_ci([seeds], name, n_boot=1000, rng=rng)
            covered[name] += lower <= 3.0 <= upper
        easy, hard = rng.normal(0.0, 1.0, size=10), rng.normal(10.0, 1.0, size=10)
        _, lower, upper = stratified_bootstrap_ci([easy, hard], "mean", n_boot=1000, rng=rng)
        covered["stratified"] += lower <= 5.0 <= upper  # true pooled mean (0 + 10) / 2
        pooled = np.concatenate([easy, hard])
        _, lower, upper = stratified_bootstrap_ci([pooled], "mean", n_boot=1000, rng=rng)
        covered["pooled"] += lower <= 5.0 <= upper
    rates = {name: hits / trials for name, hits in covered.items()}
    for name in ("mean", "iqm", "stratified"):
        assert 0.87 <= rates[name] <= 0.99, rates
    # Ignoring the strata adds the between-task spread to the interval: it over-covers.
    assert rates["pooled"] > 0.99, rates


def test_bootstrap_over_grid_points_and_nan_columns():
    rng = np.random.default_rng(3)
    curves = rng.normal(size=(5, 4))
    curves[:, 3] = np.nan  # no run reaches the last grid point
    curves[:4, 2] = np.nan  # one run does
    estimate, lower, upper = stratified_bootstrap_ci([curves], "iqm", n_boot=500, rng=0)
    assert estimate.shape == lower.shape == upper.shape == (4,)
    np.testing.assert_allclose(estimate[:2], stats.trim_mean(curves[:, :2], 0.25))
    # A single run there: every replicate that draws it gives its value (others give NaN).
    np.testing.assert_allclose([estimate[2], lower[2], upper[2]], curves[4, 2])
    assert np.isnan([estimate[3], lower[3], upper[3]]).all()
    assert (lower[:2] <= estimate[:2]).all() and (estimate[:2] <= upper[:2]).all()


def test_bootstrap_is_reproducible_and_accepts_a_callable():
    scores = [np.arange(10.0)]
    assert stratified_bootstrap_ci(scores, rng=4) == stratified_bootstrap_ci(scores, rng=4)
    estimate, _, _ = stratified_bootstrap_ci(scores, lambda x, axis: np.median(x, axis=axis))
    assert estimate == 4.5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scores_per_task": np.ones((2, 3))}, TypeError, r"for a single task pass \[scores\]"),
        ({"scores_per_task": []}, ValueError, "at least one task, each with >= 1 run"),
        ({"scores_per_task": [np.ones(0)]}, ValueError, "at least one task, each with >= 1 run"),
        ({"scores_per_task": [np.ones((2, 3)), np.ones((2, 4))]}, ValueError,
         r"trailing shapes differ: \[\(2, 3\), \(2, 4\)\]"),
        ({"n_boot": 0}, ValueError, "n_boot must be an int >= 1, got 0"),
        ({"confidence": 1.0}, ValueError, r"confidence must be in \(0, 1\), got 1.0"),
        ({"statistic": "median"}, ValueError, "statistic must be 'iqm', 'mean' or a callable"),
    ],
)
def test_bootstrap_rejects_bad_input(kwargs, error, match):
    arguments = {"scores_per_task": [np.ones(3)], **kwargs}
    with pytest.raises(error, match=match):
        stratified_bootstrap_ci(**arguments)


def test_interpolate_to_grid_against_hand_values():
    # Between (10, 1) and (20, 3) the line is y = 1 + (x - 10)/5; NaN outside [10, 30].
    result = interpolate_to_grid([10, 20, 30], [1.0, 3.0, 3.0], [5, 10, 12.5, 20, 25, 30, 31])
    np.testing.assert_allclose(result, [np.nan, 1.0, 1.5, 3.0, 3.0, 3.0, np.nan])


@pytest.mark.parametrize(
    ("xs", "ys", "match"),
    [
        ([2, 1], [0.0, 0.0], "xs must be finite and non-decreasing"),
        ([1, np.nan], [0.0, 0.0], "xs must be finite and non-decreasing"),
        ([1, 2], [0.0], r"xs and ys must be 1-D of one length >= 1, got \(2,\), \(1,\)"),
        ([], [], "xs and ys must be 1-D of one length >= 1"),
    ],
)
def test_interpolate_to_grid_rejects_bad_input(xs, ys, match):
    with pytest.raises(ValueError, match=match):
        interpolate_to_grid(xs, ys, [0.0])


def test_moving_average_matches_a_plain_loop():
    values = np.random.default_rng(5).normal(size=50)
    for window in (1, 3, 7, 100):
        expected = [values[max(0, i - window + 1): i + 1].mean() for i in range(values.size)]
        np.testing.assert_allclose(moving_average(values, window), expected)
    with pytest.raises(ValueError, match="window must be an int >= 1, got 0"):
        moving_average(values, 0)


def test_exponential_moving_average_matches_the_weighted_sum():
    # s_i = Σ_j β^{i-j} (1-β) y_j / (1 - β^{i+1}): a weighted mean whose weights sum to 1.
    values = np.random.default_rng(6).normal(size=30)
    beta = 0.8
    expected = []
    for i in range(values.size):
        weights = (1 - beta) * beta ** np.arange(i, -1, -1)
        expected.append((weights * values[: i + 1]).sum() / weights.sum())
    np.testing.assert_allclose(exponential_moving_average(values, beta), expected)
    np.testing.assert_allclose(exponential_moving_average(values, 0.0), values)
    with pytest.raises(ValueError, match=r"weight must be in \[0, 1\), got 1"):
        exponential_moving_average(values, 1)
