"""Supervised maximum-likelihood learners: behaviour cloning and the three classic regressions.

Every learner maximises the likelihood of the data it is given, i.e. minimises the cost
J(θ) = −(1/n) Σ_i log p_θ(y_i | x_i), with the cost of ``rlbasics.losses`` that matches
its likelihood:

========================  =========================  ======================================
learner                   likelihood p_θ(y | x)      cost (``rlbasics.losses``)
========================  =========================  ======================================
``logistic_regression``   Bernoulli(σ(f_θ(x)))       ``binary_cross_entropy`` (log-loss)
``softmax_regression``    Categorical(softmax f_θ)   ``nll`` (cross-entropy)
``regression``            N(f_θ(x), σ² I), σ fixed   ``mse`` (= ``gaussian_nll`` + const.)
``behaviour_cloning``     π_θ(a | s), the policy     ``nll`` (discrete a) or
                                                     ``gaussian_nll`` (continuous a)
========================  =========================  ======================================

f_θ is ``rlbasics.policies.mlp``: a linear map by default (``hidden_sizes=()``), an MLP
otherwise; behaviour cloning trains the very policies REINFORCE trains
(``rlbasics.policies.make_policy``), so the two can be compared on the same network.

All of them run one loop, :func:`agents.supervised.fit` (re-exported here with its
``SupervisedConfig`` and ``History``): a seeded train/validation split, shuffled minibatches,
Adam or SGD, a loss history per epoch, and early stopping on the validation loss.
Reference: Goodfellow, Bengio & Courville, *Deep Learning* (2016), §5.5 (maximum likelihood),
§6.2.2 (output units), §7.8 (early stopping), §8.1.3 (minibatch SGD).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from gymnasium import spaces
from torch import Tensor, nn

from agents._supervised_inputs import (
    as_array,
    as_features,
    as_labels,
    check_same_length,
)
from agents.supervised import History, SupervisedConfig, fit
from rlbasics._numbers import is_integer
from rlbasics.losses import binary_cross_entropy, gaussian_nll, mse, nll
from rlbasics.policies import CategoricalPolicy, GaussianMLPPolicy, Policy, make_policy, mlp

__all__ = [
    "History",
    "Predictor",
    "SupervisedConfig",
    "behaviour_cloning",
    "fit",
    "logistic_regression",
    "regression",
    "softmax_regression",
]

_DEFAULT = SupervisedConfig()  # the learners' default; frozen, so one instance can be shared


def _seeded(config: object, build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` with initial parameters drawn from ``config.seed`` (global RNG untouched)."""
    if not isinstance(config, SupervisedConfig):
        raise TypeError(f"config must be a SupervisedConfig, got {type(config).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build()


# ---------------------------------------------------------------------------- learners


class Predictor(nn.Module):
    """f_θ(x) = ``mlp(d, hidden_sizes, k)(x)``: ``[B, d] → [B, k]``, or ``[B]`` if ``squeeze``.

    The model the regressions return: logits for logistic and softmax regression, the
    prediction for regression. ``predictor.net`` is the ``nn.Sequential``; for a linear model
    ``predictor.net[0].weight`` ``[k, d]`` and ``.bias`` ``[k]`` are W and b.
    """

    def __init__(
        self, in_dim: int, out_dim: int, config: SupervisedConfig, *, squeeze: bool
    ) -> None:
        super().__init__()
        self.in_dim, self.squeeze = in_dim, squeeze
        self.net = mlp(in_dim, config.hidden_sizes, out_dim, config.activation)

    def forward(self, x: object) -> Tensor:
        # The training loop passes checked float32 tensors: no need to check every minibatch.
        fast = isinstance(x, Tensor) and x.dtype == torch.float32 and x.ndim == 2
        if not (fast and x.shape[1] == self.in_dim):
            x = as_features("x", x, (self.in_dim,))
        out = self.net(x)
        return out.squeeze(-1) if self.squeeze else out


def logistic_regression(
    X: object, y: object, *, config: SupervisedConfig = _DEFAULT
) -> tuple[Predictor, History]:
    """Fit P(y = 1 | x) = σ(f_θ(x)) by maximum likelihood: minimise the log-loss.

    J(θ) = −(1/n) Σ_i [y_i log σ(z_i) + (1 − y_i) log(1 − σ(z_i))], z_i = f_θ(x_i) =
    w·x_i + b for the default linear model (``losses.binary_cross_entropy``). J is convex
    in (w, b); with a constant input alone, the optimum is σ(b) = mean(y), the Bernoulli MLE.

    Args:
        X: ``[n, d]`` real, finite features.
        y: ``[n]`` targets in [0, 1] (0/1 labels, bool, or soft labels).
        config: see :class:`SupervisedConfig`.

    Returns:
        ``(model, history)``; ``model(X)`` gives the logits z ``[n]``, ``torch.sigmoid`` of
        them the probabilities. Reference: Goodfellow et al. (2016) §5.7.1, §6.2.2.2.

    >>> import numpy as np
    >>> X = np.ones((100, 1))
    >>> y = np.r_[np.ones(55), np.zeros(45)]  # 55 heads in 100 flips
    >>> config = SupervisedConfig(lr=0.3, epochs=100, batch_size=100, validation_fraction=0)
    >>> model, history = logistic_regression(X, y, config=config)
    >>> round(torch.sigmoid(model(X[:1])).item(), 2)
    0.55
    """
    features = as_features("X", X)
    targets = as_array("y", y)
    if targets.ndim != 1:
        raise ValueError(f"y must have shape [n], got {targets.shape}")
    outside = targets[~((targets >= 0) & (targets <= 1))]  # NaN fails both
    if len(outside):
        raise ValueError(f"y must be in [0, 1] (0/1 labels or probabilities), got {outside[0]}")
    targets = torch.as_tensor(targets, dtype=torch.float32)
    check_same_length(X=features, y=targets)
    model = _seeded(config, lambda: Predictor(features.shape[1], 1, config, squeeze=True))

    def loss_terms(x: Tensor, y: Tensor) -> Tensor:
        return binary_cross_entropy(model(x), y, reduction="none")

    return model, fit(model, loss_terms, (features, targets), config)


def softmax_regression(
    X: object, y: object, n_classes: int, *, config: SupervisedConfig = _DEFAULT
) -> tuple[Predictor, History]:
    """Fit P(y = k | x) = softmax(f_θ(x))_k by maximum likelihood: minimise the cross-entropy.

    J(θ) = −(1/n) Σ_i log softmax(f_θ(x_i))_{y_i} (``losses.nll``), f_θ(x) = W x + b by
    default. With one-hot inputs each input picks its own logits, and the optimum is the
    empirical class frequencies of the examples sharing that input.

    Args:
        X: ``[n, d]`` real, finite features.
        y: ``[n]`` integer labels in [0, n_classes).
        n_classes: k ≥ 2.
        config: see :class:`SupervisedConfig`.

    Returns:
        ``(model, history)``; ``model(X)`` gives the logits ``[n, k]``.
        Reference: Goodfellow et al. (2016) §6.2.2.3.

    >>> import numpy as np
    >>> X = np.eye(2)[[0, 0, 0, 0, 1, 1]]   # one-hot: input 0 four times, input 1 twice
    >>> y = np.array([0, 1, 2, 2, 1, 1])
    >>> config = SupervisedConfig(lr=0.3, epochs=100, validation_fraction=0)
    >>> model, _ = softmax_regression(X, y, 3, config=config)
    >>> torch.softmax(model(np.eye(2)), -1).detach().numpy().round(2)  # class frequencies
    array([[0.25, 0.25, 0.5 ], [0.  , 1.  , 0.  ]], dtype=float32)
    """
    if not (is_integer(n_classes) and n_classes >= 2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    features = as_features("X", X)
    labels = as_labels("y", y, int(n_classes))
    check_same_length(X=features, y=labels)
    model = _seeded(config, lambda: Predictor(features.shape[1], n_classes, config, squeeze=False))

    def loss_terms(x: Tensor, y: Tensor) -> Tensor:
        return nll(model(x), y, reduction="none")

    return model, fit(model, loss_terms, (features, labels), config)


def regression(
    X: object, y: object, *, config: SupervisedConfig = _DEFAULT
) -> tuple[Predictor, History]:
    """Fit y ≈ f_θ(x) by least squares, the MLE under Gaussian noise of fixed σ.

    J(θ) = (1/(n m)) Σ_i ‖y_i − f_θ(x_i)‖² (``losses.mse``), which is −(1/n) Σ_i log
    N(y_i; f_θ(x_i), σ² I) up to a scale and a constant for any fixed σ
    (``losses.gaussian_nll``). With the default linear model f_θ(x) = W x + b the optimum
    is the least-squares solution of ``numpy.linalg.lstsq`` on [X, 1].

    Args:
        X: ``[n, d]`` real, finite features.
        y: ``[n]`` or ``[n, m]`` real, finite targets.
        config: see :class:`SupervisedConfig`.

    Returns:
        ``(model, history)``; ``model(X)`` has the shape of y. The history's losses are MSEs.
        Reference: Goodfellow et al. (2016) §5.1.4, §5.5.1.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> config = SupervisedConfig(lr=0.2, epochs=200, validation_fraction=0)
    >>> model, _ = regression(X, 2 * X[:, 0] + 1, config=config)  # y = 2x + 1
    >>> model(np.array([[10.0]])).detach().numpy().round(2)
    array([21.], dtype=float32)
    """
    features = as_features("X", X)
    array = as_array("y", y)
    if array.ndim not in (1, 2):
        raise ValueError(f"y must have shape [n] or [n, m], got {array.shape}")
    targets = as_features("y", array[:, None] if array.ndim == 1 else array)
    check_same_length(X=features, y=targets)
    squeeze = array.ndim == 1
    model = _seeded(
        config, lambda: Predictor(features.shape[1], targets.shape[1], config, squeeze=squeeze)
    )

    def loss_terms(x: Tensor, y: Tensor) -> Tensor:
        prediction = model(x)
        return mse(prediction.reshape(y.shape), y, reduction="none").mean(dim=-1)

    return model, fit(model, loss_terms, (features, targets), config)


def _behaviour_nll(policy: Policy, observations: Tensor, actions: Tensor) -> Tensor:
    """−log π_θ(a_i | s_i) ``[B]`` through the likelihood cost of ``rlbasics.losses``."""
    if isinstance(policy, CategoricalPolicy):
        return nll(policy.action_logits(observations), actions, reduction="none")
    assert isinstance(policy, GaussianMLPPolicy)
    mean, log_std = policy.mean_and_log_std(observations)
    return gaussian_nll(mean, actions, log_std.exp(), reduction="none").sum(dim=-1)


def _observations(value: object, space: spaces.Space) -> Tensor:
    if isinstance(space, spaces.Discrete):
        return as_labels("observations", value, int(space.n))
    return as_features("observations", value, tuple(space.shape))


def _actions(value: object, space: spaces.Space) -> Tensor:
    if isinstance(space, spaces.Discrete):
        return as_labels("actions", value, int(space.n))
    return as_features("actions", value, tuple(space.shape))



def behaviour_cloning(
    observations: object,
    actions: object,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    *,
    config: SupervisedConfig = _DEFAULT,
    weights: object = None,
) -> tuple[Policy, History]:
    """Fit a policy π_θ(a|s) to demonstrated (s_i, a_i) pairs by maximum likelihood.

    J(θ) = −Σ_i w_i log π_θ(a_i | s_i) / Σ_i w_i, with w_i = 1 by default (plain behaviour
    cloning: the mean NLL). The policy is ``rlbasics.policies.make_policy(observation_space,
    action_space, config.hidden_sizes, config.activation)``: categorical for ``Discrete``
    actions (cost ``losses.nll`` of its logits; tabular for ``Discrete`` observations),
    diagonal Gaussian for ``Box`` actions (``losses.gaussian_nll`` summed over action
    dimensions; μ_θ(s) and the state-independent σ are both fitted).

    Reward-weighted behaviour cloning takes w_i = the return of step i (weights ≥ 0). Its
    gradient −Σ_i w_i ∇log π_θ(a_i|s_i) / Σ_i w_i is the REINFORCE gradient
    (``losses.policy_gradient_loss`` with Ψ_i = w_i) up to the positive factor n / Σ_i w_i,
    evaluated on the demonstrator's data instead of the policy's own: the policy-gradient
    loss *is* a return-weighted NLL. Scaling all weights by a constant changes nothing;
    integer weights equal repeating the examples that many times.

    Args:
        observations: ``[n, obs_dim]`` real (``Box``) or ``[n]`` state indices (``Discrete``).
        actions: ``[n]`` integer actions (``Discrete(A)``, start 0) or ``[n, d]`` real (``Box``).
        observation_space, action_space: the env's spaces (a vector env's ``single_*`` ones).
        config: see :class:`SupervisedConfig`.
        weights: optional ``[n]`` finite weights w_i ≥ 0, not all 0.

    Returns:
        ``(policy, history)``: a ``rlbasics.policies.Policy`` and the loss history (NLL, nats).
        Reference: Pomerleau (1991), ALVINN; Peters & Schaal (2007), "Reinforcement learning
        by reward-weighted regression"; Goodfellow et al. (2016) §5.5.

    >>> import numpy as np
    >>> observations, actions = np.array([0, 0, 0, 0, 1]), np.array([0, 1, 1, 1, 0])
    >>> config = SupervisedConfig(lr=0.3, epochs=100, batch_size=5, validation_fraction=0)
    >>> policy, _ = behaviour_cloning(observations, actions, spaces.Discrete(2),
    ...                               spaces.Discrete(2), config=config)
    >>> policy.log_prob([0, 0], [0, 1]).exp().detach().numpy().round(2)  # frequencies in s=0
    array([0.25, 0.75], dtype=float32)
    """
    # make_policy first: it refuses the spaces it has no policy for, with a clear TypeError.
    hidden_sizes, activation = config.hidden_sizes, config.activation
    policy = _seeded(
        config, lambda: make_policy(observation_space, action_space, hidden_sizes, activation)
    )
    observation_tensor = _observations(observations, observation_space)
    action_tensor = _actions(actions, action_space)
    check_same_length(observations=observation_tensor, actions=action_tensor)

    def loss_terms(observations: Tensor, actions: Tensor) -> Tensor:
        return _behaviour_nll(policy, observations, actions)

    history = fit(policy, loss_terms, (observation_tensor, action_tensor), config, weights)
    return policy, history
