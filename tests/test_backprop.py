"""rlbasics.backprop against independent truths: central finite differences, torch.autograd,
closed forms (collapsed linear layers, the chain rule by hand), and learning that works."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rlbasics.backprop import (
    Network,
    backprop,
    chain_rule,
    collapse_linear,
    compose,
    forward,
    init_parameters,
    linear_model,
    loss,
    predict,
    unit_gradient,
    unpack,
)
from rlbasics.optim import gradient_descent, minibatch_sgd

HIDDEN = ["relu", "tanh", "identity", "sigmoid"]
OUTPUTS = ["linear", "sigmoid", "softmax"]


def central_differences(function, point, step=1e-5):
    """∂f/∂θ_i ≈ (f(θ + h e_i) − f(θ − h e_i)) / 2h; error O(h²) ≈ 1e-10 here."""
    gradient = np.empty_like(point)
    for i in range(point.size):
        shift = np.zeros_like(point)
        shift[i] = step
        gradient[i] = (function(point + shift) - function(point - shift)) / (2 * step)
    return gradient


def random_problem(hidden, output, seed):
    """A 3-5-4-k network with random weights and biases, 6 examples, valid random targets."""
    rng = np.random.default_rng(seed)
    network = Network((3, 5, 4, 3), hidden, output)
    theta = rng.normal(0.0, 0.8, network.n_parameters)
    x = rng.normal(size=(6, 3))
    if output == "linear":
        y = rng.normal(size=(6, 3))
    elif output == "sigmoid":
        y = rng.uniform(size=(6, 3))  # soft labels: the cross-entropy is still ŷ − y at a^(L)
    else:
        y = rng.dirichlet(np.ones(3), size=6)
    return network, theta, x, y


def torch_loss_and_gradient(network, theta, x, y):
    """The same network and cost built from torch's own modules and losses; autograd."""
    params = [
        (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
        for w, b in unpack(network, theta)
    ]
    hidden = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
              "identity": lambda a: a}[network.hidden_activation]
    h = torch.tensor(x)
    for k, (w, b) in enumerate(params):
        a = F.linear(h, w, b)
        h = hidden(a) if k < len(params) - 1 else a
    target, n = torch.tensor(y), len(x)
    if network.output_unit == "linear":
        cost = F.mse_loss(a, target, reduction="sum") / (2 * n)
    elif network.output_unit == "sigmoid":
        cost = F.binary_cross_entropy_with_logits(a, target, reduction="sum") / n
    else:
        cost = F.cross_entropy(a, target)  # probability targets, mean over the rows
    cost.backward()
    gradient = np.concatenate([np.r_[w.grad.numpy().ravel(), b.grad.numpy()] for w, b in params])
    return cost.item(), gradient


@pytest.mark.parametrize(("hidden", "output"), list(itertools.product(HIDDEN, OUTPUTS)))
def test_backprop_gradient_equals_central_finite_differences(hidden, output):
    network, theta, x, y = random_problem(hidden, output, seed=HIDDEN.index(hidden))
    cost, gradient = backprop(network, theta, x, y)
    numeric = central_differences(lambda t: loss(network, t, x, y), theta)
    assert cost == loss(network, theta, x, y)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-6)
    assert np.abs(gradient).max() > 1e-3  # a gradient of zeros would pass vacuously


@pytest.mark.parametrize(("hidden", "output"), list(itertools.product(HIDDEN, OUTPUTS)))
def test_backprop_equals_torch_autograd(hidden, output):
    network, theta, x, y = random_problem(hidden, output, seed=10 + OUTPUTS.index(output))
    cost, gradient = backprop(network, theta, x, y)
    torch_cost, torch_gradient = torch_loss_and_gradient(network, theta, x, y)
    assert cost == pytest.approx(torch_cost, rel=1e-12)
    np.testing.assert_allclose(gradient, torch_gradient, rtol=1e-9, atol=1e-12)


def test_output_units_match_torch():
    # ŷ per output unit: identity, σ (torch.sigmoid), softmax over each row (torch.softmax).
    for output, unit in [("linear", lambda a: a), ("sigmoid", torch.sigmoid),
                         ("softmax", lambda a: torch.softmax(a, dim=1))]:
        network, theta, x, _ = random_problem("tanh", output, seed=3)
        logits = forward(network, theta, x).pre_activations[-1]
        np.testing.assert_allclose(predict(network, theta, x),
                                   unit(torch.tensor(logits)).numpy(), rtol=1e-12)


def test_costs_are_stable_for_huge_logits():
    # a = ±1000: σ and softmax round to exactly 0 and 1, yet the cost is the exact log-loss:
    # y = 0 with a = 1000 costs log(1 + e^1000) ≈ 1000; y = 1 with a = 1000 costs ≈ e^−1000 ≈ 0.
    network = Network((1, 1), output_unit="sigmoid")
    theta = np.array([1000.0, 0.0])
    x = np.ones((2, 1))
    assert loss(network, theta, x, np.array([[0.0], [1.0]])) == pytest.approx(500.0)
    network = Network((1, 2), output_unit="softmax")
    theta = np.array([1000.0, -1000.0, 0.0, 0.0])
    assert loss(network, theta, np.ones((1, 1)), np.array([[0.0, 1.0]])) == pytest.approx(2000)


def test_init_is_seeded_and_scaled_for_the_activation():
    relu, tanh = Network((1000, 1000, 1), "relu"), Network((1000, 1000, 1), "tanh")
    theta = init_parameters(relu, np.random.default_rng(7))
    np.testing.assert_array_equal(theta, init_parameters(relu, np.random.default_rng(7)))
    # 10⁶ draws: the sample std is within 1 % of its value with overwhelming probability
    # (its relative standard error is 1/√(2·10⁶) ≈ 0.07 %). He: √(2/1000); LeCun: √(1/1000).
    (weights, bias), _ = unpack(relu, theta)
    assert weights.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.01)
    assert not bias.any()
    (weights, _), _ = unpack(tanh, init_parameters(tanh, np.random.default_rng(7)))
    assert weights.std() == pytest.approx(np.sqrt(1 / 1000), rel=0.01)


def test_linear_layers_collapse_to_one_matrix():
    rng = np.random.default_rng(0)
    network = Network((4, 6, 5, 3), "identity", "linear")
    theta = rng.normal(size=network.n_parameters)
    x = rng.normal(size=(10, 4))
    weights, bias = collapse_linear(unpack(network, theta))
    assert weights.shape == (3, 4)
    np.testing.assert_allclose(predict(network, theta, x), x @ weights.T + bias, rtol=1e-12)
    # the same weights with ReLU between the layers are not that one matrix
    relu = Network((4, 6, 5, 3), "relu", "linear")
    assert np.abs(predict(relu, theta, x) - (x @ weights.T + bias)).max() > 0.1


def test_linear_model_is_linear_in_its_coefficients():
    basis = [np.ones_like, np.sin, np.square]
    x = np.linspace(-2, 2, 7)
    design = np.stack([np.ones_like(x), np.sin(x), x**2], axis=1)  # Φ_ij = f_j(x_i)
    c1, c2 = np.array([0.5, -1.0, 2.0]), np.array([1.0, 3.0, 0.0])
    np.testing.assert_allclose(linear_model(c1, basis, x), design @ c1)
    np.testing.assert_allclose(linear_model(c1 + c2, basis, x),
                               linear_model(c1, basis, x) + linear_model(c2, basis, x))


def test_compose_applies_right_to_left_and_a_network_is_its_layers_composed():
    def add_one(v):
        return v + 1

    def double(v):
        return 2 * v

    x = np.array([3.0])
    assert compose(np.square, double, add_one)(x) == 64.0  # ((3 + 1)·2)² = 64
    assert compose(add_one, double, np.square)(x) == 19.0  # 2·3² + 1 = 19
    network = Network((2, 4, 3), "tanh", "softmax")
    (w1, b1), (w2, b2) = unpack(network, np.random.default_rng(1).normal(size=network.n_parameters))

    def layer_1(h):
        return np.tanh(h @ w1.T + b1)

    def layer_2(h):
        logits = h @ w2.T + b2
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    inputs = np.random.default_rng(2).normal(size=(5, 2))
    np.testing.assert_allclose(predict(network, np.r_[w1.ravel(), b1, w2.ravel(), b2], inputs),
                               compose(layer_2, layer_1)(inputs), rtol=1e-12)


def test_chain_rule_scalar_and_vector_match_finite_differences():
    # scalar: z = sin(y), y = x² → dz/dx = cos(x²) · 2x
    x = 0.7
    assert chain_rule(np.cos(x**2), 2 * x) == pytest.approx(
        central_differences(lambda v: np.sin(v[0] ** 2), np.array([x]))[0], abs=1e-8)
    # vector: y = (x0 x1, sin x1 + x2), z = y0² + 3 y1
    point = np.array([0.3, -1.2, 2.0])
    y = np.array([point[0] * point[1], np.sin(point[1]) + point[2]])
    jacobian = np.array([[point[1], point[0], 0.0], [0.0, np.cos(point[1]), 1.0]])
    outer = np.array([2 * y[0], 3.0])

    def z(v):
        return (v[0] * v[1]) ** 2 + 3 * (np.sin(v[1]) + v[2])

    np.testing.assert_allclose(chain_rule(outer, jacobian), central_differences(z, point),
                               atol=1e-8)


@pytest.mark.parametrize("activation", HIDDEN)
def test_unit_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(HIDDEN.index(activation))
    w, b, x = rng.normal(size=3), 0.3, rng.normal(size=(4, 3))
    f = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh, "identity": lambda a: a,
         "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[activation]
    grad_w, grad_b = unit_gradient(w, b, x, activation)
    assert grad_w.shape == (4, 3) and grad_b.shape == (4,)
    for row, row_grad_w, row_grad_b in zip(x, grad_w, grad_b, strict=True):
        np.testing.assert_allclose(
            row_grad_w, central_differences(lambda v, row=row: f(v @ row + b), w), atol=1e-8)
        np.testing.assert_allclose(
            row_grad_b, central_differences(lambda v, row=row: f(w @ row + v[0]), np.array([b])),
            atol=1e-8)


def two_moons(n, rng, noise=0.1):
    """Two interleaved half circles, labels 0 and 1 (scikit-learn's make_moons, in numpy)."""
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    upper = np.c_[np.cos(angle), np.sin(angle)]
    lower = np.c_[1 - np.cos(angle), 0.5 - np.sin(angle)]
    x = np.where(label[:, None] == 0, upper, lower) + rng.normal(0, noise, (n, 2))
    return x, label


def test_gradient_descent_with_backprop_learns_two_moons():
    rng = np.random.default_rng(0)
    x, label = two_moons(200, rng)
    y = label[:, None].astype(float)
    network = Network((2, 16, 16, 1), "tanh", "sigmoid")
    run = gradient_descent(lambda t: loss(network, t, x, y),
                           lambda t: backprop(network, t, x, y)[1],
                           init_parameters(network, rng), learning_rate=1.0, steps=300)
    test_x, test_label = two_moons(1000, np.random.default_rng(1))
    accuracy = np.mean((predict(network, run.parameters[-1], test_x)[:, 0] > 0.5) == test_label)
    assert accuracy >= 0.95  # a linear boundary gets ≈ 0.87 on moons: the net must bend it
    assert run.losses[-1] < 0.2 * run.losses[0]


def test_minibatch_sgd_with_backprop_learns_xor_with_softmax():
    # XOR: class = sign(x0) ≠ sign(x1), which no linear model separates (best ≈ 50–75 %).
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (400, 2))
    label = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(int)
    y = np.eye(2)[label]
    network = Network((2, 16, 2), "relu", "softmax")
    run = minibatch_sgd(lambda t: loss(network, t, x, y),
                        lambda t, idx: backprop(network, t, x[idx], y[idx])[1],
                        init_parameters(network, rng), n_examples=400, batch_size=20,
                        learning_rate=0.5, epochs=20, rng=rng)
    accuracy = np.mean(predict(network, run.parameters[-1], x).argmax(axis=1) == label)
    assert accuracy >= 0.95


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_one_hidden_layer_approximates_sine_better_as_width_grows(activation):
    """Universal approximation, shown: random hidden units h_j = f(w_j x + b_j) with kinks or
    bends spread over [−π, π], and the output layer — a linear model Σ c_j h_j(x) + c_0 —
    fitted by least squares. The held-out error falls with the width, by far more than 2×."""
    train_x = np.linspace(-np.pi, np.pi, 201)[:, None]
    test_x = (train_x[:-1] + train_x[1:]) / 2  # midpoints: never seen in the fit
    errors = []
    for width in (2, 8, 32):
        rng = np.random.default_rng(0)
        network = Network((1, width, 1), activation, "linear")
        theta = init_parameters(network, rng)
        (w1, b1), (w2, b2) = unpack(network, theta)
        w1[:] = rng.normal(size=w1.shape)
        b1[:] = -w1[:, 0] * rng.uniform(-np.pi, np.pi, width)  # unit j bends at a random centre
        hidden = forward(network, theta, train_x).activations[1]
        solution = np.linalg.lstsq(np.c_[hidden, np.ones(len(hidden))], np.sin(train_x),
                                   rcond=None)[0]
        w2[:], b2[:] = solution[:-1].T, solution[-1]
        errors.append(np.sqrt(np.mean((predict(network, theta, test_x) - np.sin(test_x)) ** 2)))
    assert errors[0] > 2 * errors[1] > 4 * errors[2]
    assert errors[2] < 0.02  # measured: relu ≈ 8e-3, tanh ≈ 1e-10


def test_bad_input_is_rejected_with_a_clear_message():
    network = Network((2, 3, 1))
    theta = init_parameters(network, np.random.default_rng(0))
    x, y = np.zeros((4, 2)), np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"layer_sizes must be >= 2 positive integers"):
        Network((2,))
    with pytest.raises(ValueError, match=r"layer_sizes .* got \(2, 0\)"):
        Network((2, 0))
    with pytest.raises(ValueError, match=r"hidden_activation must be one of .* got 'gelu'"):
        Network((2, 1), "gelu")
    with pytest.raises(ValueError, match=r"output_unit must be one of .* got 'poisson'"):
        Network((2, 1), output_unit="poisson")
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        init_parameters(network, 0)
    with pytest.raises(ValueError, match=r"theta must have shape \(13,\) .*, got \(12,\)"):
        loss(network, theta[:-1], x, y)
    with pytest.raises(TypeError, match="theta must be a 1-D float64 numpy array"):
        loss(network, list(theta), x, y)
    with pytest.raises(ValueError, match=r"x must have shape \[n, 2\], got \(4, 3\)"):
        predict(network, theta, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        predict(network, theta, np.full((4, 2), np.nan))
    with pytest.raises(TypeError, match="x must be a real-valued array"):
        predict(network, theta, np.full((4, 2), "a"))
    with pytest.raises(ValueError, match=r"y must have shape \(4, 1\), got \(4,\)"):
        backprop(network, theta, x, np.zeros(4))
    with pytest.raises(ValueError, match=r"y must be in \[0, 1\] for a sigmoid"):
        loss(Network((2, 1), output_unit="sigmoid"), np.zeros(3), x, np.full((4, 1), 2.0))
    with pytest.raises(ValueError, match="each row of y must be a distribution"):
        loss(Network((2, 2), output_unit="softmax"), np.zeros(6), x, np.ones((4, 2)))


def test_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="layers must hold at least one"):
        collapse_linear([])
    with pytest.raises(ValueError, match=r"layer 2: W must be \[n_out, 3\]"):
        collapse_linear([(np.ones((3, 2)), np.ones(3)), (np.ones((1, 2)), np.ones(1))])
    with pytest.raises(ValueError, match=r"one entry per basis function \(2\), got shape \(3,\)"):
        linear_model([1.0, 2.0, 3.0], [np.sin, np.cos], np.zeros(2))
    with pytest.raises(TypeError, match="compose needs one or more callables"):
        compose(np.sin, 3)
    with pytest.raises(ValueError, match=r"inner_jacobian \[m, d\]; got \(2,\) and \(3, 2\)"):
        chain_rule(np.ones(2), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"w must be \[d\], b a scalar and x \[..., d\]"):
        unit_gradient(np.ones(2), 0.0, np.ones(3))
    with pytest.raises(ValueError, match="activation must be one of"):
        unit_gradient(np.ones(2), 0.0, np.ones(2), "softplus")
