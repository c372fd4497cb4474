"""Backpropagation written out: a numpy multilayer network, its forward pass and its gradient.

Convention (Nielsen 2015 ch. 2, Goodfellow et al. 2016 Algorithm 6.4, torch's ``nn.Linear``).
Layer k = 1 … L has weights W^(k): ``[n_k, n_{k−1}]`` (outputs × inputs) and a bias
b^(k): ``[n_k]``::

    a^(k) = W^(k) h^(k−1) + b^(k)      pre-activation;  h^(0) = x
    h^(k) = f(a^(k))                   activation;      ŷ = h^(L)

Goodfellow et al. §6.1 write the same layer h = g(Wᵀx + b) with a weight matrix of shape
``[inputs, outputs]``: theirs is our W^(k)ᵀ. A batch holds one example per row, ``x: [n, n_0]``,
and every row obeys the equations above (in code: ``a = h @ W.T + b``).

All parameters live in one flat float64 vector θ (W^(1), b^(1), W^(2), b^(2), …, row-major), so
the optimisers in :mod:`rlbasics.optim` see a network as any differentiable function of a
vector; :func:`unpack` gives views of θ as (W, b) pairs.

Output units and their matching costs (maximum likelihood; Goodfellow et al. §6.2.2)::

    "linear"   ŷ = a^(L)           Gaussian     C = (1/2n) Σ_i ‖y_i − ŷ_i‖²
    "sigmoid"  ŷ = σ(a^(L))        Bernoulli    C = −(1/n) Σ_i Σ_j [y log ŷ + (1 − y) log(1 − ŷ)]
    "softmax"  ŷ = softmax(a^(L))  multinomial  C = −(1/n) Σ_i Σ_c y_ic log ŷ_ic

Each output unit cancels against its cost: per example, ∇_{a^(L)} C = ŷ − y. (Sigmoid:
∂C/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) and σ′(a) = ŷ(1 − ŷ); softmax: the Jacobian diag(ŷ) − ŷŷᵀ times
−y/ŷ gives ŷ − y when Σ_c y_c = 1.) This is why backprop starts from ŷ − y, and why the costs
are computed from a^(L) directly: log σ and log softmax never take the log of a rounded 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from rlbasics._numbers import is_integer


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # = 1/(1 + e^−a), without overflow in e^−a


# name → (f, f′), both functions of the pre-activation a. ReLU′(0) is taken to be 0.
_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], ...]] = {
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "identity": (lambda a: a, np.ones_like),
    "sigmoid": (_sigmoid, lambda a: _sigmoid(a) * (1.0 - _sigmoid(a))),
}


def _softmax(a: np.ndarray) -> np.ndarray:
    exp = np.exp(a - a.max(axis=-1, keepdims=True))  # shifted by the maximum: exp ≤ 1
    return exp / exp.sum(axis=-1, keepdims=True)


_OUTPUT_UNITS = {"linear": lambda a: a, "sigmoid": _sigmoid, "softmax": _softmax}


def _check_name(name: object, allowed: Sequence[str], argument: str) -> None:
    if name not in allowed:
        raise ValueError(f"{argument} must be one of {sorted(allowed)}, got {name!r}")


def _as_float_array(value: object, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a real-valued array, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got a NaN or an infinity")
    return array


@dataclass(frozen=True)
class Network:
    """The architecture of a fully connected network (its parameters are a separate vector θ).

    ``layer_sizes = (n_0, n_1, …, n_L)``: n_0 inputs, L layers, n_L outputs. The hidden layers
    use ``hidden_activation`` ∈ {relu, tanh, identity, sigmoid}; the output layer uses
    ``output_unit`` ∈ {linear, sigmoid, softmax} and its matching cost (module docstring).

    >>> Network((2, 8, 1), "tanh", "sigmoid").n_parameters  # (2·8 + 8) + (8·1 + 1)
    33
    """

    layer_sizes: tuple[int, ...]
    hidden_activation: str = "relu"
    output_unit: str = "linear"

    def __post_init__(self) -> None:
        sizes = tuple(self.layer_sizes)
        counts = all(is_integer(n) and n >= 1 for n in sizes)
        if len(sizes) < 2 or not counts:
            raise ValueError(f"layer_sizes must be >= 2 positive integers, got {sizes!r}")
        _check_name(self.hidden_activation, list(_ACTIVATIONS), "hidden_activation")
        _check_name(self.output_unit, list(_OUTPUT_UNITS), "output_unit")
        object.__setattr__(self, "layer_sizes", tuple(int(n) for n in sizes))

    @property
    def n_parameters(self) -> int:
        """Length of θ: Σ_k n_k (n_{k−1} + 1)."""
        return sum(n_out * (n_in + 1) for n_in, n_out in pairwise(self.layer_sizes))


def init_parameters(network: Network, rng: np.random.Generator) -> np.ndarray:
    """A random θ: W^(k) ~ N(0, gain / n_{k−1}) entry-wise, b^(k) = 0.

    gain = 2 for ReLU hidden layers (He et al. 2015), 1 otherwise (LeCun; Glorot & Bengio
    2010): the scale that keeps the variance of a^(k) roughly constant from layer to layer.
    Returns θ: ``[network.n_parameters]``, float64.

    >>> init_parameters(Network((3, 2)), np.random.default_rng(0)).shape
    (8,)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    theta = np.zeros(network.n_parameters)
    gain = 2.0 if network.hidden_activation == "relu" else 1.0
    for weights, _ in unpack(network, theta):
        weights[...] = rng.normal(0.0, np.sqrt(gain / weights.shape[1]), size=weights.shape)
    return theta


def unpack(network: Network, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Views of θ as [(W^(1), b^(1)), …, (W^(L), b^(L))], W^(k): ``[n_k, n_{k−1}]``.

    Writing into a view writes into θ.

    >>> [(w.shape, b.shape) for w, b in unpack(Network((3, 2)), np.arange(8.0))]
    [((2, 3), (2,))]
    """
    if not isinstance(theta, np.ndarray) or theta.dtype != np.float64 or theta.ndim != 1:
        raise TypeError("theta must be a 1-D float64 numpy array (see init_parameters)")
    if theta.shape != (network.n_parameters,):
        shape = (network.n_parameters,)
        raise ValueError(f"theta must have shape {shape} for this network, got {theta.shape}")
    layers, start = [], 0
    for n_in, n_out in pairwise(network.layer_sizes):
        end = start + n_out * n_in
        layers.append((theta[start:end].reshape(n_out, n_in), theta[end : end + n_out]))
        start = end + n_out
    return layers


class ForwardPass(NamedTuple):
    """Every layer's values: ``pre_activations[k−1] = a^(k)`` for k = 1 … L and
    ``activations[k] = h^(k)`` for k = 0 … L (``activations[0]`` is x, ``activations[-1]`` ŷ)."""

    pre_activations: list[np.ndarray]
    activations: list[np.ndarray]


def forward(network: Network, theta: np.ndarray, x: np.ndarray) -> ForwardPass:
    """The forward pass a^(k) = W^(k) h^(k−1) + b^(k), h^(k) = f(a^(k)), h^(0) = x.

    Hidden layers apply ``network.hidden_activation``; layer L applies the output unit.
    x: ``[n, n_0]``, one example per row. Returns every a^(k) and h^(k) (``[n, n_k]``), which
    :func:`backprop` needs. Goodfellow et al. (2016) §6.1, Algorithm 6.3.

    >>> net = Network((1, 1), output_unit="sigmoid")
    >>> forward(net, np.array([2.0, -1.0]), np.array([[0.5]])).activations[-1]  # σ(2·0.5 − 1)
    array([[0.5]])
    """
    layers = unpack(network, theta)
    x = _as_float_array(x, "x")
    if x.ndim != 2 or x.shape[1] != network.layer_sizes[0]:
        raise ValueError(f"x must have shape [n, {network.layer_sizes[0]}], got {x.shape}")
    units = [_ACTIVATIONS[network.hidden_activation][0]] * (len(layers) - 1)
    units.append(_OUTPUT_UNITS[network.output_unit])
    pre_activations, activations = [], [x]
    for (weights, bias), unit in zip(layers, units, strict=True):
        pre_activations.append(activations[-1] @ weights.T + bias)
        activations.append(unit(pre_activations[-1]))
    return ForwardPass(pre_activations, activations)


def predict(network: Network, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The network's output ŷ = h^(L) for x: ``[n, n_0]``; returns ``[n, n_L]``.

    >>> predict(Network((2, 1)), np.array([1.0, 2.0, 0.5]), np.array([[1.0, 1.0]]))
    array([[3.5]])
    """
    return forward(network, theta, x).activations[-1]


def _check_targets(network: Network, y: object, n: int) -> np.ndarray:
    y = _as_float_array(y, "y")
    if y.shape != (n, network.layer_sizes[-1]):
        raise ValueError(f"y must have shape ({n}, {network.layer_sizes[-1]}), got {y.shape}")
    if network.output_unit == "sigmoid" and (y.min() < 0 or y.max() > 1):
        raise ValueError("y must be in [0, 1] for a sigmoid (Bernoulli) output")
    if network.output_unit == "softmax" and (y.min() < 0 or not np.allclose(y.sum(1), 1)):
        raise ValueError("each row of y must be a distribution (≥ 0, sums to 1) for softmax")
    return y


def _cost(network: Network, logits: np.ndarray, y: np.ndarray) -> float:
    """The output unit's matching cost, computed from a^(L) = ``logits`` for stability."""
    n = logits.shape[0]
    if network.output_unit == "linear":
        return float(0.5 * np.sum((y - logits) ** 2) / n)
    if network.output_unit == "sigmoid":
        # −[y log σ(a) + (1 − y) log(1 − σ(a))] = log(1 + e^a) − y a
        return float(np.sum(np.logaddexp(0.0, logits) - y * logits) / n)
    # −Σ_c y_c log softmax(a)_c = logsumexp(a) − Σ_c y_c a_c, when Σ_c y_c = 1
    shift = logits.max(axis=1, keepdims=True)
    log_normaliser = shift + np.log(np.exp(logits - shift).sum(axis=1, keepdims=True))
    return float((np.sum(log_normaliser) - np.sum(y * logits)) / n)


def loss(network: Network, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """The cost C(θ) of the output unit (module docstring), averaged over the n examples.

    x: ``[n, n_0]``; y: ``[n, n_L]`` (one-hot or soft labels for softmax, values in [0, 1] for
    sigmoid). Goodfellow et al. (2016) §6.2.2; Nielsen (2015) eq. (6) for the MSE.

    >>> loss(Network((1, 1)), np.array([1.0, 0.0]), np.array([[1.0], [2.0]]), np.zeros((2, 1)))
    1.25
    """
    passed = forward(network, theta, x)
    return _cost(network, passed.pre_activations[-1], _check_targets(network, y, len(x)))


def backprop(
    network: Network, theta: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """The cost C(θ) and its gradient ∇_θ C by the backpropagation algorithm (no autograd).

    With g the gradient of C with respect to the current layer's values::

        g ← ∇_{a^(L)} C = (ŷ − y)/n             output unit and cost folded together (BP1)
        for k = L … 1:
            g ← g ⊙ f′(a^(k))                   ∇_{a^(k)} C; skipped at k = L, already done
            ∇_{b^(k)} C = g                     (BP3)
            ∇_{W^(k)} C = g h^(k−1)ᵀ             (BP4)
            g ← W^(k)ᵀ g                        ∇_{h^(k−1)} C (BP2, with the next ⊙ f′)

    Per example; over a batch the two parameter gradients are summed over the rows (the 1/n of
    the mean is already in g). Returns (C, ∇_θ C) with ∇_θ C: ``[network.n_parameters]``
    ordered like θ. Goodfellow et al. (2016) Algorithm 6.4; Nielsen (2015) ch. 2, the four
    equations BP1–BP4.

    >>> net = Network((1, 1))  # ŷ = w x + b; C = ½(w·1 + 0 − 0)² at w = 1
    >>> backprop(net, np.array([1.0, 0.0]), np.array([[1.0]]), np.array([[0.0]]))
    (0.5, array([1., 1.]))
    """
    passed = forward(network, theta, x)
    y = _check_targets(network, y, len(x))
    derivative = _ACTIVATIONS[network.hidden_activation][1]
    gradient = np.zeros_like(theta)
    layers = list(zip(unpack(network, theta), unpack(network, gradient), strict=True))
    g = (passed.activations[-1] - y) / len(x)
    for k in reversed(range(len(layers))):  # k = L−1 … 0 indexes layers L … 1
        (weights, _), (grad_weights, grad_bias) = layers[k]
        if k < len(layers) - 1:
            g = g * derivative(passed.pre_activations[k])
        grad_bias[...] = g.sum(axis=0)
        grad_weights[...] = g.T @ passed.activations[k]  # Σ_i g_i h_iᵀ: the batch sum of BP4
        g = g @ weights  # row form of W^(k)ᵀ g; after layer 1 it is ∇_x C, unused
    return _cost(network, passed.pre_activations[-1], y), gradient


def collapse_linear(
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Without non-linearities, L layers are one: W = W^(L) ⋯ W^(1), b = W^(L)(⋯) + b^(L).

    h^(L) = W^(L)(⋯(W^(1) x + b^(1))⋯) + b^(L) = W x + b, computed by folding
    W ← W^(k) W, b ← W^(k) b + b^(k). Depth adds nothing to a linear network's
    expressiveness (Goodfellow et al. 2016 §6.1). layers: [(W^(k): ``[n_k, n_{k−1}]``,
    b^(k): ``[n_k]``)], e.g. :func:`unpack`'s output. Returns W: ``[n_L, n_0]``, b: ``[n_L]``.

    >>> first, second = (np.array([[2.0]]), np.array([1.0])), (np.array([[3.0]]), np.array([0.5]))
    >>> collapse_linear([first, second])  # 3(2x + 1) + 0.5
    (array([[6.]]), array([3.5]))
    """
    if len(layers) == 0:
        raise ValueError("layers must hold at least one (W, b) pair, got none")
    total_weights = np.eye(np.shape(layers[0][0])[1])
    total_bias = np.zeros(len(total_weights))
    for k, (weights, bias) in enumerate(layers, start=1):
        weights, bias = _as_float_array(weights, f"W^({k})"), _as_float_array(bias, f"b^({k})")
        if weights.shape[1:] != total_weights.shape[:1] or bias.shape != weights.shape[:1]:
            raise ValueError(f"layer {k}: W must be [n_out, {len(total_weights)}] and b "
                             f"[n_out], got W {weights.shape} and b {bias.shape}")
        total_weights, total_bias = weights @ total_weights, weights @ total_bias + bias
    return total_weights, total_bias


def linear_model(
    coefficients: Sequence[float] | np.ndarray,
    basis_functions: Sequence[Callable[[np.ndarray], np.ndarray]],
    x: np.ndarray,
) -> np.ndarray:
    """A linear model f(x) = Σ_j c_j f_j(x): fixed features f_j, learnable weights c_j.

    Linear in c (so least squares fits it in closed form) however non-linear the f_j; a
    network instead learns its features, as a composition (:func:`compose`). Goodfellow et al.
    (2016) §6.1. coefficients: ``[m]``; m callables; each f_j(x) has the shape of the result.

    >>> linear_model([1.0, 2.0], [np.sin, np.square], np.array([0.0, 3.0]))
    array([ 0.     , 18.14112])
    """
    coefficients = _as_float_array(coefficients, "coefficients")
    if coefficients.ndim != 1 or len(coefficients) != len(basis_functions):
        raise ValueError(
            f"coefficients must be 1-D with one entry per basis function "
            f"({len(basis_functions)}), got shape {coefficients.shape}"
        )
    return sum(c * f(x) for c, f in zip(coefficients, basis_functions, strict=True))


def compose(*functions: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The composition f_K ∘ … ∘ f_1, arguments in the mathematical order (f_K first).

    ``compose(f3, f2, f1)(x) == f3(f2(f1(x)))``: a network's layers chained (Goodfellow et al.
    2016 §6, "f(x) = f⁽³⁾(f⁽²⁾(f⁽¹⁾(x)))").

    >>> compose(np.sqrt, lambda x: x + 1)(np.array([3.0]))
    array([2.])
    """
    if not functions or not all(callable(f) for f in functions):
        raise TypeError("compose needs one or more callables")

    def composition(x: np.ndarray) -> np.ndarray:
        for f in reversed(functions):
            x = f(x)
        return x

    return composition


def chain_rule(
    outer_gradient: np.ndarray | float, inner_jacobian: np.ndarray | float
) -> np.ndarray:
    """The chain rule for z = f(y), y = g(x): ∇_x z = (∂y/∂x)ᵀ ∇_y z.

    Scalars: dz/dx = dz/dy · dy/dx (Goodfellow et al. 2016 eq. 6.44). Vectors: outer_gradient
    ∇_y z: ``[m]``, inner_jacobian ∂y/∂x: ``[m, d]`` → ``[d]`` (eq. 6.46), a vector–Jacobian
    product; backprop is this product applied layer by layer, never forming the Jacobian.

    >>> chain_rule(np.array([1.0, 2.0]), np.array([[1.0, 0.0], [3.0, 4.0]]))
    array([7., 8.])
    """
    gradient = _as_float_array(outer_gradient, "outer_gradient")
    jacobian = _as_float_array(inner_jacobian, "inner_jacobian")
    if gradient.ndim == 0 and jacobian.ndim == 0:
        return gradient * jacobian
    if gradient.ndim != 1 or jacobian.ndim != 2 or jacobian.shape[0] != len(gradient):
        raise ValueError(
            "chain_rule needs two scalars, or outer_gradient [m] and inner_jacobian [m, d]; "
            f"got {gradient.shape} and {jacobian.shape}"
        )
    return jacobian.T @ gradient


def unit_gradient(
    w: np.ndarray, b: float, x: np.ndarray, activation: str = "relu"
) -> tuple[np.ndarray, np.ndarray]:
    """One unit's gradients: h = g(wᵀx + b) gives ∇_w h = g′(wᵀx + b) x and ∂h/∂b = g′(wᵀx + b).

    w: ``[d]``, b scalar, x: ``[..., d]`` (one example per row) → (∇_w h: ``[..., d]``,
    ∂h/∂b: ``[...]``). activation ∈ {relu, tanh, identity, sigmoid}. Goodfellow et al. (2016)
    §6.3 and §6.5.

    >>> unit_gradient(np.array([1.0, -1.0]), 0.0, np.array([3.0, 1.0]))  # ReLU, wᵀx = 2 > 0
    (array([3., 1.]), array(1.))
    """
    _check_name(activation, list(_ACTIVATIONS), "activation")
    w, b, x = _as_float_array(w, "w"), _as_float_array(b, "b"), _as_float_array(x, "x")
    if w.ndim != 1 or b.ndim != 0 or x.ndim == 0 or x.shape[-1] != len(w):
        raise ValueError(
            f"w must be [d], b a scalar and x [..., d], got {w.shape}, {b.shape} and {x.shape}"
        )
    slope = _ACTIVATIONS[activation][1](x @ w + b)
    return slope[..., None] * x, np.asarray(slope)
