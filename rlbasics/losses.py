"""Losses: information theory, likelihood costs, and the policy-gradient surrogate.

Each equation lives in exactly one function, computed from logits (unnormalised
log-probabilities) through ``log_softmax`` and ``softplus``, so that logits of ±1e4 give
finite values and finite gradients. All functions take and return torch tensors.

Shapes. A categorical distribution lives on the last axis: ``logits: [..., k]``. The
distribution quantities (``entropy``, ``cross_entropy``, ``kl_divergence``) return one
number per distribution, ``[...]``. The costs over data (``nll``, ``binary_cross_entropy``,
``gaussian_nll``, ``mse``) and the policy-gradient terms take one ``reduction``: ``"mean"``
(default) over every element (or every valid element under a ``mask``), ``"sum"``, or
``"none"`` (the per-element terms).

A logit of −inf marks an impossible category (p = 0, with 0 · log 0 = 0), so probabilities
can be passed as ``probabilities.log()``; every row needs at least one finite logit. Bad
input raises a TypeError or ValueError naming the argument (the checks are in
``rlbasics/_losses_inputs.py``).

References: Goodfellow, Bengio & Courville, *Deep Learning* (2016), ch. 3.13 (information
theory), 5.5 (maximum likelihood), 6.2.2 (output units); Cover & Thomas, *Elements of
Information Theory* (2nd ed., 2006), ch. 2; Williams (1992), "Simple statistical
gradient-following algorithms for connectionist reinforcement learning", *Machine Learning* 8.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from rlbasics._losses_inputs import (
    check_finite,
    check_float_tensor,
    check_gaussian_nll_inputs,
    check_logits,
    check_mask,
    check_nll_inputs,
    check_same_shape,
)
from rlbasics._numbers import is_real

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")

__all__ = [
    "binary_cross_entropy",
    "cross_entropy",
    "entropy",
    "entropy_bonus",
    "gaussian_nll",
    "kl_divergence",
    "mse",
    "nll",
    "policy_gradient_loss",
]


# --- information theory (Goodfellow et al. 3.13; Cover & Thomas ch. 2) ----------------------


def entropy(logits: Tensor, *, validate: bool = True) -> Tensor:
    """Shannon entropy H(p) = −Σ_i p_i log p_i of p = softmax(logits), in nats.

    0 ≤ H(p) ≤ log k: 0 for a one-hot p, log k for the uniform p (Cover & Thomas, Thm 2.6.4).

    Args:
        logits: ``[..., k]`` float; −inf marks an impossible category.
        validate: check the inputs (default). ``False`` skips the checks, for hot paths whose
            inputs are valid by construction (``rlbasics.policies`` calls it once per step);
            invalid inputs then give NaN or wrong numbers silently.

    Returns:
        ``[...]``, one entropy per distribution.

    Reference: Goodfellow et al. (2016) eq. 3.49; Cover & Thomas (2006) §2.1.

    >>> entropy(torch.zeros(4))  # uniform over 4: log 4
    tensor(1.3863)
    """
    if validate:
        check_logits("logits", logits)
    log_p = F.log_softmax(logits, dim=-1)
    return -_expectation(log_p, log_p)


def cross_entropy(p_logits: Tensor, q_logits: Tensor) -> Tensor:
    """Cross-entropy H(p, q) = −Σ_i p_i log q_i, p = softmax(p_logits), q = softmax(q_logits).

    H(p, q) = H(p) + D_KL(p‖q) ≥ H(p). Minimising H(p_data, p_model) over the model is
    maximum likelihood (Goodfellow et al. §5.5). For a distribution given as
    probabilities (an empirical p_data with zeros), pass ``p.log()``.

    Args:
        p_logits: ``[..., k]`` float, the distribution the expectation is taken under.
        q_logits: ``[..., k]`` float, the distribution whose log-probabilities are scored.

    Returns:
        ``[...]``, in nats; +inf where q gives probability 0 to a category p gives mass to.

    Reference: Goodfellow et al. (2016) eq. 3.51; Cover & Thomas (2006) §5.4 (wrong code).

    >>> cross_entropy(torch.tensor([0.0, 0.0]), torch.log(torch.tensor([0.25, 0.75])))
    tensor(0.8370)
    """
    check_logits("p_logits", p_logits)
    check_logits("q_logits", q_logits)
    check_same_shape("p_logits", p_logits, "q_logits", q_logits)
    log_p = F.log_softmax(p_logits, dim=-1)
    log_q = F.log_softmax(q_logits, dim=-1)
    return -_expectation(log_p, log_q)


def kl_divergence(p_logits: Tensor, q_logits: Tensor) -> Tensor:
    """Kullback–Leibler divergence D_KL(p‖q) = Σ_i p_i (log p_i − log q_i).

    D_KL(p‖q) ≥ 0, with equality if and only if p = q (Gibbs' inequality, Cover & Thomas
    Thm 2.6.3); it is not symmetric. Computed directly, not as H(p, q) − H(p), so that
    nearly equal distributions do not lose their digits to cancellation.

    Args:
        p_logits: ``[..., k]`` float.
        q_logits: ``[..., k]`` float.

    Returns:
        ``[...]``, in nats.

    Reference: Goodfellow et al. (2016) eq. 3.50; Cover & Thomas (2006) §2.3.

    >>> kl_divergence(torch.log(torch.tensor([0.5, 0.5])), torch.log(torch.tensor([0.25, 0.75])))
    tensor(0.1438)
    """
    check_logits("p_logits", p_logits)
    check_logits("q_logits", q_logits)
    check_same_shape("p_logits", p_logits, "q_logits", q_logits)
    log_p = F.log_softmax(p_logits, dim=-1)
    log_q = F.log_softmax(q_logits, dim=-1)
    return _expectation(log_p, log_p - log_q)


# --- likelihood costs (Goodfellow et al. 5.5, 6.2.2) ---------------------------------------


def nll(
    logits: Tensor, labels: Tensor, reduction: Reduction = "mean", *, validate: bool = True
) -> Tensor:
    """Categorical negative log-likelihood −log softmax(logits)[y], the softmax-regression cost.

    Averaged over n examples it is the MLE cost J(θ) = −(1/n) Σ_i log p_θ(y_i | x_i)
    (Goodfellow et al. §5.5.1), and the cross-entropy between the one-hot label and
    the model's softmax output (§6.2.2.3).

    Args:
        logits: ``[..., k]`` float, the model's unnormalised log-probabilities.
        labels: ``[...]`` integer class indices in [0, k).
        reduction: ``"mean"`` (default) | ``"sum"`` | ``"none"`` (per example, ``[...]``).
        validate: check the inputs (default). ``False`` skips the checks, for hot paths whose
            inputs are valid by construction (``rlbasics.policies`` calls it once per step);
            invalid inputs then give NaN or wrong numbers silently.

    Reference: Goodfellow et al. (2016) §5.5.1, §6.2.2.3.

    >>> nll(torch.log(torch.tensor([[0.5, 0.5], [0.1, 0.9]])), torch.tensor([0, 1]))
    tensor(0.3993)
    """
    if validate:
        check_nll_inputs(logits, labels)
    log_p = F.log_softmax(logits, dim=-1)
    per_example = -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return _reduce(per_example, reduction)


def binary_cross_entropy(logits: Tensor, targets: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Log-loss −[y log σ(z) + (1 − y) log(1 − σ(z))] of a Bernoulli with logit z.

    The negative log of the Bernoulli likelihood f^y (1 − f)^(1−y) with f = σ(z), the
    logistic-regression cost. With log σ(z) = −softplus(−z) and log(1 − σ(z)) =
    −softplus(z) it is computed as y·softplus(−z) + (1 − y)·softplus(z), which stays finite
    and accurate for any finite z (Goodfellow et al. §6.2.2.2).

    Args:
        logits: ``[...]`` float, z = log(f / (1 − f)).
        targets: ``[...]`` float in [0, 1] (labels, or soft targets), same shape as logits.
        reduction: ``"mean"`` (default) | ``"sum"`` | ``"none"``.

    Reference: Goodfellow et al. (2016) §3.9.1, §6.2.2.2.

    >>> binary_cross_entropy(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]))  # log 2
    tensor(0.6931)
    """
    check_float_tensor("logits", logits)
    check_finite("logits", logits)
    check_float_tensor("targets", targets)
    check_same_shape("logits", logits, "targets", targets)
    outside = targets[~((targets >= 0) & (targets <= 1))]  # NaN fails both comparisons
    if outside.numel() > 0:
        raise ValueError(f"targets must be in [0, 1], got {outside[0].item()}")
    per_element = targets * F.softplus(-logits) + (1 - targets) * F.softplus(logits)
    return _reduce(per_element, reduction)


def gaussian_nll(
    mean: Tensor,
    target: Tensor,
    std: Tensor | float,
    reduction: Reduction = "mean",
    *,
    validate: bool = True,
) -> Tensor:
    """Gaussian negative log-likelihood −log N(y; μ, σ²) = ½((y − μ)/σ)² + log σ + ½ log 2π.

    The cost of a linear (Gaussian) output unit. For a fixed σ it is (y − μ)²/(2σ²) plus a
    constant, so minimising it is minimising the mean squared error ``mse``: regression by
    MSE is maximum likelihood under Gaussian noise (Goodfellow et al. §5.5.1).
    Element-wise: a diagonal Gaussian's NLL over d dimensions is the sum over them.

    Args:
        mean: ``[...]`` float, μ.
        target: ``[...]`` float, y, same shape as mean.
        std: σ > 0, a float or a tensor broadcastable to ``mean.shape``.
        reduction: ``"mean"`` (default) | ``"sum"`` | ``"none"``.
        validate: check the inputs (default). ``False`` skips the checks, for hot paths whose
            inputs are valid by construction (``rlbasics.policies`` calls it once per step);
            invalid inputs then give NaN or wrong numbers silently.

    Reference: Goodfellow et al. (2016) §3.9.3, §5.5.1, §6.2.2.1.

    >>> gaussian_nll(torch.tensor([0.0]), torch.tensor([1.0]), std=1.0)  # ½ + ½ log 2π
    tensor(1.4189)
    """
    if validate:
        check_gaussian_nll_inputs(mean, target, std)
    std = torch.as_tensor(std, dtype=mean.dtype, device=mean.device)
    z = (target - mean) / std
    per_element = 0.5 * z**2 + torch.log(std) + 0.5 * math.log(2 * math.pi)
    return _reduce(per_element, reduction)


def mse(
    prediction: Tensor, target: Tensor, *, half: bool = False, reduction: Reduction = "mean"
) -> Tensor:
    """Mean squared error (1/n) Σ_i (y_i − ŷ_i)², or with ``half=True`` (1/2n) Σ_i (y_i − ŷ_i)².

    ``half=False`` is the plain mean over all n elements (``torch.nn.functional.mse_loss``).
    ``half=True`` is the theory's quadratic cost C = (1/2n) Σ_x ‖y(x) − a^L(x)‖², whose ½
    cancels the 2 of the derivative (∂C/∂a = (a − y)/n). For one output per example the two
    agree with the formulas above; for d outputs per example the norm sums over them, so
    C = ``mse(a, y, half=True, reduction="sum") / n`` with n the number of examples.
    Minimising either is maximum likelihood under Gaussian noise of fixed σ (see
    ``gaussian_nll``).

    Args:
        prediction: ``[...]`` float, ŷ (the network output a^L).
        target: ``[...]`` float, y, same shape as prediction.
        half: multiply by ½ (the quadratic-cost convention).
        reduction: ``"mean"`` (default) | ``"sum"`` | ``"none"`` (per-element squared errors).

    Reference: Goodfellow et al. (2016) §5.1.4 and §5.5.1; Nielsen, *Neural Networks and
    Deep Learning* (2015), ch. 1, eq. 6.

    >>> mse(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]))  # (1 + 4) / 2
    tensor(2.5000)
    >>> mse(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]), half=True)  # (1 + 4) / 4
    tensor(1.2500)
    """
    check_float_tensor("prediction", prediction)
    check_finite("prediction", prediction)
    check_float_tensor("target", target)
    check_finite("target", target)
    check_same_shape("prediction", prediction, "target", target)
    if not isinstance(half, bool):
        raise TypeError(f"half must be a bool, got {type(half).__name__}")
    per_element = (target - prediction) ** 2
    return _reduce(0.5 * per_element if half else per_element, reduction)


# --- policy gradient (Williams 1992) -------------------------------------------------------


def policy_gradient_loss(
    log_probs: Tensor,
    weights: Tensor,
    mask: Tensor | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """The REINFORCE surrogate L(θ) = −(1/|V|) Σ_{t∈V} log π_θ(a_t|s_t) · Ψ_t, with Ψ detached.

    Its gradient −(1/|V|) Σ_t ∇_θ log π_θ(a_t|s_t) · Ψ_t is the score-function (likelihood
    ratio) estimate of −∇J(θ), J(θ) = E_{τ∼p_θ}[G(τ)] (Williams 1992; Sutton & Barto 2018
    §13.3). Only the gradient matters: the *value* of L is not J, nor −J, nor any estimate
    of them. The weights Ψ_t (G(τ), the reward-to-go G_t, an advantage, with γ^t folded in
    when wanted) are constants of the estimator; they are detached here so that no
    gradient flows into whatever produced them (e.g. a value baseline).

    Normalisation. V is the set of valid steps (all steps, or those where ``mask`` is
    True), so ``"mean"`` averages over steps. The Monte-Carlo estimate of ∇J over N
    episodes averages over *episodes*: (1/N) Σ_i Σ_t ∇log π · Ψ. For that, use
    ``reduction="sum"`` and divide by N; with episodes of unequal length the per-step
    mean is that estimate scaled by N / |V|, a random factor.

    Args:
        log_probs: ``[..., T]`` float, log π_θ(a_t|s_t) of the actions taken (with grad).
        weights: ``[..., T]`` float, Ψ_t, same shape.
        mask: optional ``[..., T]`` bool, True at valid steps; padded steps (False) are
            excluded. Their values must still be finite (e.g. 0). At least one must be True.
        reduction: ``"mean"`` (default, over valid steps) | ``"sum"`` | ``"none"`` (per-step
            terms −log π · Ψ, 0 at padded steps).

    Reference: Williams (1992) §4; Sutton & Barto, *Reinforcement Learning* (2018) §13.3.

    >>> log_probs = torch.log(torch.tensor([0.5, 0.25]))
    >>> policy_gradient_loss(log_probs, torch.tensor([1.0, 2.0]))  # −(1·log ½ + 2·log ¼)/2
    tensor(1.7329)
    """
    check_float_tensor("log_probs", log_probs)
    check_finite("log_probs", log_probs)
    check_float_tensor("weights", weights)
    check_finite("weights", weights)
    check_same_shape("log_probs", log_probs, "weights", weights)
    check_mask(mask, log_probs)
    return _reduce(-log_probs * weights.detach().to(log_probs.dtype), reduction, mask)


def entropy_bonus(
    entropies: Tensor,
    coefficient: float,
    mask: Tensor | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """The entropy regulariser as a loss term: −β · (1/|V|) Σ_{t∈V} H(π_θ(·|s_t)).

    Added to the policy loss, it rewards entropy: minimising it raises H and keeps the
    policy from collapsing to a deterministic one too early (Williams & Peng 1991; Mnih et
    al. 2016, A3C). The sign is included: the result is ≤ 0 for β ≥ 0.

    Args:
        entropies: ``[..., T]`` float, H(π_θ(·|s_t)) per step (e.g. ``entropy(logits)``).
        coefficient: β ≥ 0.
        mask: optional ``[..., T]`` bool, True at valid steps (as in
            ``policy_gradient_loss``).
        reduction: ``"mean"`` (default, over valid steps) | ``"sum"`` | ``"none"``.

    Reference: Williams & Peng (1991), "Function optimization using connectionist
    reinforcement learning algorithms", *Connection Science* 3; Mnih et al. (2016) §4.

    >>> entropy_bonus(torch.tensor([1.0, 2.0]), coefficient=0.5)  # −0.5 · (1 + 2)/2
    tensor(-0.7500)
    """
    check_float_tensor("entropies", entropies)
    check_finite("entropies", entropies)
    if not is_real(coefficient):
        raise TypeError(f"coefficient must be a float, got {type(coefficient).__name__}")
    if not (math.isfinite(coefficient) and coefficient >= 0):
        raise ValueError(f"coefficient must be a finite number >= 0, got {coefficient}")
    check_mask(mask, entropies)
    return -coefficient * _reduce(entropies, reduction, mask)


# --- sums and reductions ----------------------------------------------------------------


def _expectation(log_p: Tensor, values: Tensor) -> Tensor:
    """Σ_i p_i · values_i over the last axis, with 0 · values_i = 0 where p_i = 0.

    The convention 0 log 0 = 0 (Cover & Thomas §2.1). ``torch.where`` rather than a product
    with 0 keeps a −inf or NaN in ``values`` out of both the sum and the gradient.
    """
    p = log_p.exp()
    return (p * torch.where(p > 0, values, 0.0)).sum(dim=-1)


def _reduce(terms: Tensor, reduction: str, mask: Tensor | None = None) -> Tensor:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if mask is not None:
        terms = torch.where(mask, terms, 0.0)
    if reduction == "none":
        return terms
    total = terms.sum()
    if reduction == "sum":
        return total
    if terms.numel() == 0:
        raise ValueError("reduction='mean' needs at least one element, got an empty tensor")
    return total / (terms.numel() if mask is None else mask.sum())
