"""The minibatch gradient-descent loop that every supervised learner of ``agents.mle`` runs.

:func:`fit` minimises a weighted mean loss J(θ) = Σ_i w_i ℓ_i(θ) / Σ_i w_i over the rows of
some tensors: a seeded train/validation split, shuffled minibatches, Adam or SGD, a loss
history per epoch, and early stopping on the validation loss. :class:`SupervisedConfig` says
how it trains, :class:`History` what it did; ``agents.mle`` re-exports all three.
Reference: Goodfellow, Bengio & Courville, *Deep Learning* (2016), §7.8 (early stopping),
§8.1.3 (minibatch SGD).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from agents._supervised_inputs import as_weights
from rlbasics._numbers import is_integer, is_real
from rlbasics.policies import ACTIVATIONS

__all__ = ["History", "SupervisedConfig", "fit"]


@dataclass(frozen=True)
class SupervisedConfig:
    """How :func:`fit` trains; every learner of ``agents.mle`` takes one.

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
        if not (is_real(self.lr) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not (is_integer(value) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        fraction = self.validation_fraction
        if not (is_real(fraction) and 0 <= fraction < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not (is_real(self.weight_decay) and 0 <= self.weight_decay < math.inf):
            raise ValueError(
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}"
            )
        sizes = self.hidden_sizes
        if not (isinstance(sizes, tuple) and all(is_integer(s) and s >= 1 for s in sizes)):
            raise ValueError(
                "hidden_sizes must be a tuple of integers >= 1 such as (64, 64) or (), "
                f"got {sizes!r}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if not (is_integer(self.seed) and self.seed >= 0):
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
    weights = torch.ones(n) if weights is None else as_weights(weights, n)
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
