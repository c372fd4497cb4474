"""Bayes' rule, the Bernoulli likelihood and its maximum, and the Beta–Bernoulli posterior.

The theory's coin: 55 heads in 100 flips. The frequentist (maximum-likelihood) estimate of
P(heads) is the sample mean 0.55; a Bayesian with prior Beta(α, β) holds the posterior
Beta(α + 55, β + 45), whose mean (α + 55)/(α + β + 100) is pulled towards the prior's mean.

>>> bernoulli_mle(np.r_[np.ones(55), np.zeros(45)])
0.55
>>> Beta(1, 1).posterior(heads=55, tails=45).mean  # 56/102
0.5490196

numpy only at runtime. References: Goodfellow et al. (2016) §3.9.2 (Bernoulli), §3.11
(Bayes' rule), §5.5 (maximum likelihood), §5.6 (Bayesian statistics, the Beta prior);
Bishop (2006) §2.1.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rlbasics._numbers import is_integer, is_real


def _as_probabilities(value: object, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a real-valued array, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all((array >= 0) & (array <= 1)):  # also rejects NaN
        raise ValueError(f"{name} must be probabilities in [0, 1], got {value!r}")
    return array


def _as_outcomes(y: object) -> np.ndarray:
    array = np.asarray(y)
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise TypeError(f"y must be an array of 0/1 outcomes, got dtype {array.dtype}")
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(f"y must hold Bernoulli outcomes 0 or 1, got {y!r}")
    return array.astype(np.float64)


def bayes_rule(prior: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Bayes' rule over discrete hypotheses: P(A_i|B) = P(B|A_i) P(A_i) / P(B).

    The evidence is P(B) = Σ_j P(B|A_j) P(A_j) (the hypotheses are exclusive and exhaustive).
    prior P(A_i): ``[..., K]``, non-negative, summing to 1 over the last axis; likelihood
    P(B|A_i): ``[..., K]`` in [0, 1] (it need not sum to 1). The two broadcast, so a stack of
    observations B gives a stack of posteriors. Returns ``[..., K]``. Goodfellow et al. (2016)
    §3.11, eq. 3.42.

    >>> bayes_rule(np.array([0.5, 0.5]), np.array([0.9, 0.3]))  # 0.45 / (0.45 + 0.15)
    array([0.75, 0.25])
    """
    prior = _as_probabilities(prior, "prior")
    likelihood = _as_probabilities(likelihood, "likelihood")
    if prior.ndim == 0 or likelihood.ndim == 0:
        raise ValueError("prior and likelihood must have a last axis of hypotheses [..., K]")
    if not np.allclose(prior.sum(axis=-1), 1.0):
        raise ValueError(f"prior must sum to 1 over the hypotheses, got sums {prior.sum(-1)}")
    joint = likelihood * prior  # P(B, A_i)
    evidence = joint.sum(axis=-1, keepdims=True)  # P(B)
    if np.any(evidence == 0):
        raise ValueError("the evidence P(B) is 0: every hypothesis rules B out")
    return joint / evidence


def bernoulli_likelihood(f: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """The Bernoulli probability of an outcome: P(y | f) = f^y (1 − f)^(1 − y), y ∈ {0, 1}.

    f = P(y = 1) in [0, 1]; f and y broadcast (e.g. f: ``[G, 1]`` over a grid, y: ``[n]``).
    The likelihood of independent outcomes is the product over them. Goodfellow et al. (2016)
    §3.9.2, eq. 3.16.

    >>> bernoulli_likelihood(0.8, np.array([1, 0]))
    array([0.8, 0.2])
    """
    f, y = _as_probabilities(f, "f"), _as_outcomes(y)
    return np.where(y == 1, f, 1.0 - f)  # f^y (1 − f)^(1 − y) for y ∈ {0, 1}


def bernoulli_log_likelihood(f: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """log P(y | f) = y log f + (1 − y) log(1 − f): minus the log-loss (binary cross-entropy).

    Summed over independent outcomes it is the log-likelihood log Π_i P(y_i | f), which the
    maximum-likelihood estimate maximises. −inf where the outcome is impossible (f = 0 and
    y = 1, or f = 1 and y = 0). Shapes broadcast as in :func:`bernoulli_likelihood`.
    Goodfellow et al. (2016) §5.5, §6.2.2.2.

    >>> bernoulli_log_likelihood(np.array([0.5, 0.0]), 1)  # log ½; impossible: −inf
    array([-0.6931472,       -inf])
    """
    with np.errstate(divide="ignore"):  # log 0 = −inf is the right answer here
        return np.log(bernoulli_likelihood(f, y))


def bernoulli_mle(y: np.ndarray) -> float | np.ndarray:
    """The maximum-likelihood estimate of f from outcomes y_1 … y_n: the sample mean.

    f_ML = argmax_f Σ_i [y_i log f + (1 − y_i) log(1 − f)] = (1/n) Σ_i y_i (set the derivative
    Σ_i y_i/f − (1 − y_i)/(1 − f) to 0). y: ``[..., n]`` → ``[...]``. Goodfellow et al. (2016)
    §5.5.

    >>> bernoulli_mle(np.array([1, 0, 1, 1]))
    0.75
    """
    y = _as_outcomes(y)
    if y.ndim == 0 or y.shape[-1] == 0:
        raise ValueError(f"y must hold at least one outcome on its last axis, got shape {y.shape}")
    mean = y.mean(axis=-1)
    return float(mean) if mean.ndim == 0 else mean


@dataclass(frozen=True)
class Beta:
    """The Beta(α, β) distribution of a probability f: density ∝ f^(α−1) (1 − f)^(β−1).

    The conjugate prior of the Bernoulli: after ``heads`` ones and ``tails`` zeros the
    posterior is Beta(α + heads, β + tails) (Bishop 2006 §2.1.1, eq. 2.18). Beta(1, 1) is
    uniform on [0, 1]; α and β act as prior pseudo-counts of heads and tails.

    >>> Beta(2, 2).posterior(heads=3, tails=1)
    Beta(alpha=5.0, beta=3.0)
    """

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not is_real(value):
                raise TypeError(f"{name} must be a real number, got {value!r}")
            if not 0 < value < math.inf:
                raise ValueError(f"{name} must be > 0 and finite, got {value}")
            object.__setattr__(self, name, float(value))

    def posterior(self, heads: int, tails: int) -> Beta:
        """Bayes' rule for the coin: Beta(α, β) prior × f^heads (1 − f)^tails likelihood
        ∝ Beta(α + heads, β + tails).

        >>> Beta(1, 1).posterior(heads=55, tails=45)
        Beta(alpha=56.0, beta=46.0)
        """
        for name, count in (("heads", heads), ("tails", tails)):
            if not is_integer(count):
                raise TypeError(f"{name} must be an integer count, got {count!r}")
            if count < 0:
                raise ValueError(f"{name} must be >= 0, got {count}")
        return Beta(self.alpha + heads, self.beta + tails)

    @property
    def mean(self) -> float:
        """E[f] = α / (α + β); for the posterior, (α + heads)/(α + β + n).

        >>> Beta(3, 1).mean
        0.75
        """
        return self.alpha / (self.alpha + self.beta)

    @property
    def mode(self) -> float:
        """The most probable f (the MAP estimate for a posterior): (α − 1)/(α + β − 2).

        That formula holds for α, β > 1. Otherwise the density is monotone and the mode is at
        an end: 0 if α ≤ 1 ≤ β with α < β, 1 if β ≤ 1 ≤ α with β < α. Beta(1, 1) (flat) and
        α, β < 1 (peaks at both ends) have no single mode: ValueError. With the uniform prior
        the posterior mode is heads/n, the MLE.

        >>> Beta(56, 46).mode  # 55/100: uniform prior, 55 heads in 100 flips
        0.55
        """
        if self.alpha > 1 and self.beta > 1:
            return (self.alpha - 1) / (self.alpha + self.beta - 2)
        if self.alpha <= 1 <= self.beta and self.alpha < self.beta:
            return 0.0
        if self.beta <= 1 <= self.alpha and self.beta < self.alpha:
            return 1.0
        raise ValueError(f"{self} has no single mode (alpha, beta <= 1)")

    def pdf(self, f: float | np.ndarray) -> np.ndarray:
        """The density f^(α−1) (1 − f)^(β−1) / B(α, β), B(α, β) = Γ(α)Γ(β)/Γ(α + β).

        Computed in log space (via log Γ) so large α, β do not overflow. f: any shape in
        [0, 1]; returns the same shape (inf at an end where α < 1 or β < 1).

        >>> Beta(2, 2).pdf(np.array([0.0, 0.5]))  # 6 f (1 − f)
        array([0. , 1.5])
        """
        f = _as_probabilities(f, "f")
        log_normaliser = math.lgamma(self.alpha) + math.lgamma(self.beta) - math.lgamma(
            self.alpha + self.beta
        )
        with np.errstate(divide="ignore"):  # log 0 at an end; a power of 0 drops it (0·log 0)
            log_density = sum(
                ((power - 1) * np.log(base) for power, base in ((self.alpha, f), (self.beta, 1 - f))
                 if power != 1),
                np.zeros_like(f),
            )
        return np.exp(log_density - log_normaliser)

    def credible_interval(self, mass: float = 0.95) -> tuple[float, float]:
        """The equal-tailed interval [l, u] with P(f < l) = P(f > u) = (1 − mass)/2.

        The CDF is the area under :meth:`pdf`, integrated by the trapezoid rule on an even
        grid of 100 001 points in [0, 1], and inverted by linear interpolation. Needs
        α, β ≥ 1 (a bounded density); the error is about 1e-6 for the posteriors here.

        >>> low, high = Beta(56, 46).credible_interval(0.95)
        >>> round(low, 3), round(high, 3)
        (0.452, 0.644)
        """
        if not is_real(mass) or not 0 < mass < 1:
            raise ValueError(f"mass must be a number in (0, 1), got {mass!r}")
        if self.alpha < 1 or self.beta < 1:
            raise ValueError(f"credible_interval needs alpha, beta >= 1, got {self}")
        grid = np.linspace(0.0, 1.0, 100_001)
        density = self.pdf(grid)
        cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
        cdf /= cdf[-1]  # the trapezoid area is 1 up to the rule's error
        tail = (1 - mass) / 2
        low, high = np.interp([tail, 1 - tail], cdf, grid)
        return float(low), float(high)
