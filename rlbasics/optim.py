"""Gradient descent, minibatch SGD and Newton's method on any differentiable function.

The function is given as callables on a parameter array θ (a scalar, a vector, or for a
network the flat vector of :mod:`rlbasics.backprop`): ``loss(θ) → float``, ``gradient(θ) →``
an array shaped like θ, and for Newton ``hessian(θ) →`` an ``[n, n]`` matrix. Each method
returns a :class:`History`: θ and the loss before the first step and after every step.

References: Goodfellow et al. (2016) §4.3 (gradient descent, condition number, Newton),
§8.1.3 (minibatch SGD); Nocedal & Wright (2006) ch. 3 (rates on quadratics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from rlbasics._numbers import is_integer, is_real


class History(NamedTuple):
    """An optimisation run: ``parameters[s]`` and ``losses[s]`` after s steps (s = 0 is the
    start). parameters: ``[steps + 1, *θ.shape]``; losses: ``[steps + 1]``."""

    parameters: np.ndarray
    losses: np.ndarray


def _check_learning_rate(learning_rate: object) -> float:
    if not is_real(learning_rate):
        raise TypeError(f"learning_rate must be a real number, got {learning_rate!r}")
    if not 0 < learning_rate < np.inf:
        raise ValueError(f"learning_rate must be > 0 and finite, got {learning_rate}")
    return float(learning_rate)


def _check_count(value: object, name: str, minimum: int) -> int:
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_initial(initial: object) -> np.ndarray:
    theta = np.asarray(initial)
    if theta.dtype == bool or not np.issubdtype(theta.dtype, np.number):
        raise TypeError(f"initial must be a real number or array, got dtype {theta.dtype}")
    theta = theta.astype(np.float64)  # a copy: the caller's array is never written
    if not np.all(np.isfinite(theta)):
        raise ValueError("initial must be finite, got a NaN or an infinity")
    return theta


def _evaluate(function: Callable[..., object], name: str, shape: tuple[int, ...], *args: object):
    value = np.asarray(function(*args), dtype=np.float64)
    if value.shape != shape:
        raise ValueError(f"{name} returned shape {value.shape}, expected {shape}")
    return value


def _run(
    loss: Callable[[np.ndarray], float],
    initial: object,
    updates: int,
    step: Callable[[np.ndarray, int], np.ndarray],
) -> History:
    """Apply θ ← step(θ, s) for s = 0 … updates − 1, recording θ and loss(θ) throughout."""
    theta = _check_initial(initial)
    parameters = np.empty((updates + 1, *theta.shape))
    losses = np.empty(updates + 1)
    for s in range(updates + 1):
        if s > 0:
            theta = step(theta, s - 1)
        parameters[s] = theta
        losses[s] = _evaluate(loss, "loss", (), theta)
    return History(parameters, losses)


def gradient_descent(
    loss: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray],
    initial: float | np.ndarray,
    learning_rate: float,
    steps: int,
) -> History:
    """Full-batch gradient descent: θ ← θ − η ∇J(θ), ``steps`` times.

    On a quadratic J(θ) = ½ θᵀAθ − bᵀθ whose Hessian A has eigenvalues in [μ, L], the step
    η = 1/L shrinks the error ‖θ − θ*‖ by at least (1 − 1/κ) per step, κ = L/μ the condition
    number; any η > 2/L makes the steepest direction grow by |1 − ηL| > 1: divergence.
    Goodfellow et al. (2016) §4.3, eq. 4.7.

    initial: θ_0, any shape; gradient(θ) returns θ's shape. Returns a :class:`History`.

    >>> run = gradient_descent(lambda w: w**2, lambda w: 2 * w, 1.0, learning_rate=0.25, steps=2)
    >>> run.parameters  # w ← w − 0.25·2w = w/2
    array([1.  , 0.5 , 0.25])
    """
    learning_rate = _check_learning_rate(learning_rate)
    steps = _check_count(steps, "steps", 0)

    def step(theta: np.ndarray, _: int) -> np.ndarray:
        return theta - learning_rate * _evaluate(gradient, "gradient", theta.shape, theta)

    return _run(loss, initial, steps, step)


def minibatch_sgd(
    loss: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray],
    initial: float | np.ndarray,
    n_examples: int,
    batch_size: int,
    learning_rate: float,
    epochs: int,
    rng: np.random.Generator,
) -> History:
    """Minibatch stochastic gradient descent: θ ← θ − η ∇J_B(θ), B a random minibatch.

    Each epoch shuffles the indices 0 … n_examples − 1 with ``rng`` and cuts them into
    ⌈n / batch_size⌉ minibatches (the last may be smaller), so every example is used once per
    epoch. ``gradient(θ, indices)`` returns the gradient of the loss averaged over those
    examples, an unbiased estimate of the full gradient whose noise shrinks as the batch grows.
    ``loss(θ)`` is the full objective, recorded after every step. Goodfellow et al. (2016)
    §5.9 and §8.1.3, Algorithm 8.1.

    Returns a :class:`History` of epochs · ⌈n / batch_size⌉ steps.

    >>> data = np.array([1.0, 3.0])  # J(w) = mean_i ½(w − x_i)², minimised by the mean 2
    >>> run = minibatch_sgd(lambda w: 0.5 * np.mean((w - data) ** 2),
    ...                     lambda w, idx: np.mean(w - data[idx]), 0.0, n_examples=2,
    ...                     batch_size=2, learning_rate=1.0, epochs=1, rng=np.random.default_rng(0))
    >>> run.parameters  # a full batch with η = 1 jumps to the mean
    array([0., 2.])
    """
    n_examples = _check_count(n_examples, "n_examples", 1)
    batch_size = _check_count(batch_size, "batch_size", 1)
    if batch_size > n_examples:
        raise ValueError(f"batch_size must be <= n_examples ({n_examples}), got {batch_size}")
    learning_rate = _check_learning_rate(learning_rate)
    epochs = _check_count(epochs, "epochs", 0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    batches_per_epoch = -(-n_examples // batch_size)

    def shuffled_batches():
        for _ in range(epochs):
            order = rng.permutation(n_examples)
            yield from (order[i : i + batch_size] for i in range(0, n_examples, batch_size))

    batches = shuffled_batches()

    def step(theta: np.ndarray, _: int) -> np.ndarray:
        indices = next(batches)
        return theta - learning_rate * _evaluate(gradient, "gradient", theta.shape, theta, indices)

    return _run(loss, initial, epochs * batches_per_epoch, step)


def newton(
    loss: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray],
    hessian: Callable[[np.ndarray], np.ndarray],
    initial: float | np.ndarray,
    steps: int,
) -> History:
    """Newton's method: w ← w − H⁻¹ ∇J(w); in one dimension w ← w − C′(w)/C″(w).

    It jumps to the minimum of the local quadratic model, so a quadratic is solved in one step
    and near a minimum with H positive definite the error is squared at every step. Why it
    does not scale: with n parameters the Hessian is n × n — O(n²) memory and an O(n³) linear
    solve per step (a million-weight network would need 10¹² entries) — and away from a
    minimum an indefinite H sends the step uphill, towards saddle points. Goodfellow et al.
    (2016) §4.3.1 and §8.6.1.

    initial: a scalar w (``gradient`` and ``hessian`` return scalars) or ``[n]`` (they return
    ``[n]`` and ``[n, n]``). Returns a :class:`History`.

    >>> run = newton(lambda w: (w - 3) ** 2, lambda w: 2 * (w - 3), lambda w: 2.0, 0.0, steps=1)
    >>> run.parameters  # the quadratic's minimum in one step
    array([0., 3.])
    """
    steps = _check_count(steps, "steps", 0)
    if np.ndim(initial) > 1:
        raise ValueError(f"initial must be a scalar or 1-D for newton, got {np.shape(initial)}")

    def step(theta: np.ndarray, s: int) -> np.ndarray:
        grad = _evaluate(gradient, "gradient", theta.shape, theta)
        curvature = _evaluate(hessian, "hessian", theta.shape * 2, theta)
        singular = ValueError(f"the Hessian is singular at step {s}: no Newton step")
        if theta.ndim == 0:  # one dimension: w − C′(w)/C″(w)
            if curvature == 0:
                raise singular
            return theta - grad / curvature
        try:
            return theta - np.linalg.solve(curvature, grad)  # H⁻¹∇ without forming H⁻¹
        except np.linalg.LinAlgError:
            raise singular from None

    return _run(loss, initial, steps, step)
