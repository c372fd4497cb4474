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

All of them run one loop, :func:`fit`: a seeded train/validation split, shuffled minibatches,
Adam or SGD, a loss history per epoch, and early stopping on the validation loss.
Reference: Goodfellow, Bengio & Courville, *Deep Learning* (2016), §5.5 (maximum likelihood),
§6.2.2 (output units), §7.8 (early stopping), §8.1.3 (minibatch SGD).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn
from tqdm.auto import tqdm

from rlbasics.losses import binary_cross_entropy, gaussian_nll, mse, nll
from rlbasics.policies import (
    ACTIVATIONS,
    CategoricalPolicy,
    GaussianMLPPolicy,
    Policy,
    make_policy,
    mlp,
)

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


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class SupervisedConfig:
    """How :func:`fit` trains; every learner of this module takes one.

    Attributes:
        lr: learning rate of the optimiser, > 0.
        epochs: maximum number of passes over the training split, ≥ 1.
        batch_size: examples per gradient step, ≥ 1; a value ≥ the training split's size
            gives full-batch gradient descent.
        validation_fraction: share of the examples held out for validation, in [0, 1):
            max(1, round(fraction · n)) of them. 0 trains on everything and disables early
            stopping (use it when the exact MLE of the data is wanted).
        patience: stop after this many epochs, ≥ 1, without a new lowest validation loss,
            and return the parameters of the epoch that had it (Goodfellow et al. §7.8).
        optimizer: ``"adam"`` (Kingma & Ba 2015) or ``"sgd"`` (plain θ ← θ − lr·∇J).
        weight_decay: λ ≥ 0, adds λθ to every gradient: the L2 penalty (λ/2)‖θ‖², i.e. MAP
            estimation under a Gaussian prior N(0, 1/λ) (Goodfellow et al. §5.6.1, §7.1.1).
        hidden_sizes: hidden layer widths of f_θ; ``()`` (default) is a linear model.
        activation: hidden activation, a key of ``rlbasics.policies.ACTIVATIONS``.
        seed: seeds the initial parameters, the split and the shuffling, ≥ 0.
        progress: show a tqdm bar over the epochs.

    >>> SupervisedConfig(lr=0.1, epochs=50).batch_size
    64
    >>> SupervisedConfig(validation_fraction=1.0)
    Traceback (most recent call last):
    ...
    ValueError: validation_fraction must be in [0, 1), got 1.0
    """

    lr: float = 1e-2
    epochs: int = 100
    batch_size: int = 64
    validation_fraction: float = 0.1
    patience: int = 10
    optimizer: Literal["adam", "sgd"] = "adam"
    weight_decay: float = 0.0
    hidden_sizes: tuple[int, ...] = ()
    activation: str = "tanh"
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        if not (_is_real(self.lr) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not (_is_int(value) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        fraction = self.validation_fraction
        if not (_is_real(fraction) and 0 <= fraction < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not (_is_real(self.weight_decay) and 0 <= self.weight_decay < math.inf):
            raise ValueError(
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}"
            )
        sizes = self.hidden_sizes
        if not (isinstance(sizes, tuple) and all(_is_int(s) and s >= 1 for s in sizes)):
            raise ValueError(
                "hidden_sizes must be a tuple of integers >= 1 such as (64, 64) or (), "
                f"got {sizes!r}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if not (_is_int(self.seed) and self.seed >= 0):
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.progress, bool):
            raise ValueError(f"progress must be a bool, got {self.progress!r}")


@dataclass(frozen=True, eq=False)
class History:
    """What :func:`fit` did.

    Attributes:
        train_loss: the weighted mean loss over the training split after each epoch.
        validation_loss: the same over the validation split (empty without one).
        best_epoch: the epoch (0-based) whose parameters were returned: the one with the
            lowest validation loss, or the last one without validation.
        stopped_early: training stopped before ``epochs`` because of ``patience``.
        validation_indices: ``[n_validation]`` int64, the rows of the data held out.
    """

    train_loss: list[float]
    validation_loss: list[float]
    best_epoch: int
    stopped_early: bool
    validation_indices: np.ndarray


def _split(n: int, fraction: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """A seeded random split of rows 0 … n−1 into (train, validation) index tensors."""
    n_validation = max(1, round(fraction * n)) if fraction > 0 else 0
    if n - n_validation < 1:
        raise ValueError(
            f"validation_fraction={fraction} of {n} examples leaves no training example; "
            "use more data or validation_fraction=0"
        )
    order = torch.randperm(n, generator=generator)
    return order[n_validation:], order[:n_validation]


def fit(
    model: nn.Module,
    loss_terms: Callable[..., Tensor],
    data: Sequence[Tensor],
    config: SupervisedConfig,
    weights: Tensor | None = None,
) -> History:
    """Minimise the weighted mean loss J(θ) = Σ_i w_i ℓ_i(θ) / Σ_i w_i by minibatch descent.

    ``loss_terms(*rows)`` maps the rows of each tensor of ``data`` (a minibatch) to the
    per-example losses ℓ_i ``[B]``. A minibatch b of the training split takes the step on
    Σ_{i∈b} w_i ℓ_i / (|b| · w̄), w̄ the mean training weight: its expectation over the
    shuffles is exactly J on the training split (an unbiased gradient, and no 0/0 when a
    minibatch's weights are all 0). Without ``weights`` all w_i = 1 and J is the plain mean.

    Each epoch visits the training split once in a fresh random order; after it, J is
    recorded on both splits. With a validation split, training stops once ``patience``
    epochs pass without a new lowest validation J, and ``model`` is left with the
    parameters of the best epoch (early stopping, Goodfellow et al. §7.8).

    Args:
        model: the module whose parameters are trained (in place).
        loss_terms: per-example loss of a minibatch, ``(*rows) → [B]``.
        data: tensors with n rows each (inputs, targets, ...).
        config: a :class:`SupervisedConfig` (seed, lr, epochs, ...).
        weights: optional ``[n]`` finite w_i ≥ 0 (tensor or array), with a positive sum over
            each split.

    >>> x, y = torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([1.0, 3.0, 5.0])
    >>> line = nn.Linear(1, 1)
    >>> _ = nn.init.zeros_(line.weight), nn.init.zeros_(line.bias)
    >>> config = SupervisedConfig(lr=0.2, epochs=200, validation_fraction=0)
    >>> history = fit(line, lambda x, y: (line(x).squeeze(-1) - y) ** 2, (x, y), config)
    >>> round(history.train_loss[-1], 6), [round(p.item(), 3) for p in line.parameters()]
    (0.0, [2.0, 1.0])
    """
    if not isinstance(config, SupervisedConfig):
        raise TypeError(f"config must be a SupervisedConfig, got {type(config).__name__}")
    if not data or not all(isinstance(tensor, Tensor) and tensor.ndim for tensor in data):
        raise TypeError("data must be a non-empty sequence of torch tensors with rows first")
    n = len(data[0])
    if n == 0 or any(len(tensor) != n for tensor in data):
        lengths = [len(tensor) for tensor in data]
        raise ValueError(f"data tensors must have the same number n >= 1 of rows, got {lengths}")
    weights = torch.ones(n) if weights is None else _weights(weights, n)
    generator = torch.Generator().manual_seed(config.seed)
    train, validation = _split(n, config.validation_fraction, generator)
    for name, rows in (("training", train), ("validation", validation)):
        if len(rows) and not weights[rows].sum() > 0:
            raise ValueError(f"weights must have a positive sum over the {name} split, got 0")
    mean_train_weight = weights[train].mean()
    optimizer_class = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
    optimizer = optimizer_class(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def weighted_mean(rows: Tensor) -> float:
        with torch.no_grad():
            terms = loss_terms(*(tensor[rows] for tensor in data))
            return float((weights[rows] * terms).sum() / weights[rows].sum())

    train_loss: list[float] = []
    validation_loss: list[float] = []
    best_state, best_epoch, stopped_early = None, 0, False
    bar = tqdm(range(config.epochs), desc="fit", disable=not config.progress, leave=False)
    for epoch in bar:
        diverged = f"the optimisation diverged at epoch {epoch}; try a smaller lr (got {config.lr})"
        try:
            shuffled = train[torch.randperm(len(train), generator=generator)]
            for batch in shuffled.split(config.batch_size):
                terms = loss_terms(*(tensor[batch] for tensor in data))
                loss = (weights[batch] * terms).sum() / (len(batch) * mean_train_weight)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            train_loss.append(weighted_mean(train))
        except ValueError as error:  # the losses refuse non-finite predictions
            if all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                raise
            raise ValueError(f"{diverged}: non-finite parameters") from error
        if not math.isfinite(train_loss[-1]):
            raise ValueError(f"{diverged}: the training loss is {train_loss[-1]}")
        if not len(validation):
            best_epoch = epoch
            bar.set_postfix(train=f"{train_loss[-1]:.4g}")
            continue
        validation_loss.append(weighted_mean(validation))
        bar.set_postfix(train=f"{train_loss[-1]:.4g}", validation=f"{validation_loss[-1]:.4g}")
        if best_state is None or validation_loss[-1] < validation_loss[best_epoch]:
            best_epoch = epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            stopped_early = True
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return History(
        train_loss, validation_loss, best_epoch, stopped_early, validation.numpy().astype(np.int64)
    )


# ---------------------------------------------------------------------------- input checks


def _as_array(name: str, value: object) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(
            f"{name} must hold at least one example (rows first), got shape {array.shape}"
        )
    return array


def _features(name: str, value: object, shape: tuple[int, ...] | None = None) -> Tensor:
    """Real, finite inputs ``[n, *shape]`` (``[n, d]`` when shape is None) as float32."""
    array = _as_array(name, value)
    if array.dtype.kind == "b":
        raise TypeError(f"{name} must hold numbers, got dtype bool")
    wanted = "[n, d]" if shape is None else f"[n, {', '.join(map(str, shape))}]"
    if (array.ndim != 2) if shape is None else (array.shape[1:] != shape):
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        raise ValueError(f"{name} must be finite, got {array[tuple(bad[0])]} at row {bad[0][0]}")
    return torch.as_tensor(array, dtype=torch.float32)


def _labels(name: str, value: object, n_classes: int) -> Tensor:
    """Integer class indices ``[n]`` in [0, n_classes) as int64."""
    array = _as_array(name, value)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must have shape [n], got {array.shape}")
    outside = array[(array < 0) | (array >= n_classes)]
    if len(outside):
        raise ValueError(f"{name} must be in [0, {n_classes}), got {outside[0]}")
    return torch.as_tensor(array, dtype=torch.int64)


def _same_length(**arrays: Tensor) -> None:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the inputs must have the same number of rows, got {lengths}")


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
            x = _features("x", x, (self.in_dim,))
        out = self.net(x)
        return out.squeeze(-1) if self.squeeze else out


def logistic_regression(
    X: object, y: object, *, config: SupervisedConfig = SupervisedConfig()
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

    >>> X = np.ones((100, 1))
    >>> y = np.r_[np.ones(55), np.zeros(45)]  # 55 heads in 100 flips
    >>> config = SupervisedConfig(lr=0.3, epochs=100, batch_size=100, validation_fraction=0)
    >>> model, history = logistic_regression(X, y, config=config)
    >>> round(torch.sigmoid(model(X[:1])).item(), 2)
    0.55
    """
    features = _features("X", X)
    targets = _as_array("y", y)
    if targets.ndim != 1:
        raise ValueError(f"y must have shape [n], got {targets.shape}")
    outside = targets[~((targets >= 0) & (targets <= 1))]  # NaN fails both
    if len(outside):
        raise ValueError(f"y must be in [0, 1] (0/1 labels or probabilities), got {outside[0]}")
    targets = torch.as_tensor(targets, dtype=torch.float32)
    _same_length(X=features, y=targets)
    model = _seeded(config, lambda: Predictor(features.shape[1], 1, config, squeeze=True))

    def loss_terms(x: Tensor, y: Tensor) -> Tensor:
        return binary_cross_entropy(model(x), y, reduction="none")

    return model, fit(model, loss_terms, (features, targets), config)


def softmax_regression(
    X: object, y: object, n_classes: int, *, config: SupervisedConfig = SupervisedConfig()
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

    >>> X = np.eye(2)[[0, 0, 0, 0, 1, 1]]   # one-hot: input 0 four times, input 1 twice
    >>> y = np.array([0, 1, 2, 2, 1, 1])
    >>> config = SupervisedConfig(lr=0.3, epochs=100, validation_fraction=0)
    >>> model, _ = softmax_regression(X, y, 3, config=config)
    >>> torch.softmax(model(np.eye(2)), -1).detach().numpy().round(2)  # class frequencies
    array([[0.25, 0.25, 0.5 ], [0.  , 1.  , 0.  ]], dtype=float32)
    """
    if not (_is_int(n_classes) and n_classes >= 2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    features = _features("X", X)
    labels = _labels("y", y, int(n_classes))
    _same_length(X=features, y=labels)
    model = _seeded(config, lambda: Predictor(features.shape[1], n_classes, config, squeeze=False))

    def loss_terms(x: Tensor, y: Tensor) -> Tensor:
        return nll(model(x), y, reduction="none")

    return model, fit(model, loss_terms, (features, labels), config)


def regression(
    X: object, y: object, *, config: SupervisedConfig = SupervisedConfig()
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

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> config = SupervisedConfig(lr=0.2, epochs=200, validation_fraction=0)
    >>> model, _ = regression(X, 2 * X[:, 0] + 1, config=config)  # y = 2x + 1
    >>> model(np.array([[10.0]])).detach().numpy().round(2)
    array([21.], dtype=float32)
    """
    features = _features("X", X)
    array = _as_array("y", y)
    if array.ndim not in (1, 2):
        raise ValueError(f"y must have shape [n] or [n, m], got {array.shape}")
    targets = _features("y", array[:, None] if array.ndim == 1 else array)
    _same_length(X=features, y=targets)
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
        return _labels("observations", value, int(space.n))
    return _features("observations", value, tuple(space.shape))


def _actions(value: object, space: spaces.Space) -> Tensor:
    if isinstance(space, spaces.Discrete):
        return _labels("actions", value, int(space.n))
    return _features("actions", value, tuple(space.shape))


def _weights(value: object, n: int) -> Tensor:
    array = _as_array("weights", value)
    if array.dtype.kind == "b":
        raise TypeError("weights must be numbers >= 0, got dtype bool")
    if array.shape != (n,):
        raise ValueError(f"weights must have shape [n] = ({n},), got {array.shape}")
    bad = array[~((array >= 0) & np.isfinite(array))]
    if len(bad):
        raise ValueError(f"weights must be finite and >= 0, got {bad[0]}")
    return torch.as_tensor(array, dtype=torch.float32)


def behaviour_cloning(
    observations: object,
    actions: object,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    *,
    config: SupervisedConfig = SupervisedConfig(),
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
    _same_length(observations=observation_tensor, actions=action_tensor)

    def loss_terms(observations: Tensor, actions: Tensor) -> Tensor:
        return _behaviour_nll(policy, observations, actions)

    history = fit(policy, loss_terms, (observation_tensor, action_tensor), config, weights)
    return policy, history
