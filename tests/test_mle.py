"""Tests for agents.mle against independent truth.

References: closed-form maximum-likelihood estimates (the sample mean of a Bernoulli, the
empirical class frequencies per input, per-state action frequencies, least squares from
``numpy.linalg.lstsq``, the residual standard deviation of a Gaussian), a plain numpy
Newton loop for logistic regression, the asymptotic normality of the MLE (standard errors
from the Fisher information), and ``rlbasics.losses.policy_gradient_loss`` for the bridge
between weighted behaviour cloning and REINFORCE.
"""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.mle import (
    SupervisedConfig,
    behaviour_cloning,
    fit,
    logistic_regression,
    regression,
    softmax_regression,
)
from rlbasics.configs import apply_overrides, read_config
from rlbasics.losses import policy_gradient_loss
from rlbasics.policies import GaussianMLPPolicy, TabularSoftmaxPolicy
from rlbasics.runs import write_config


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: a second OpenMP thread only adds waiting (milliseconds per op when the
    # cores are shared). Restored after each test so no other test is affected.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def full_batch(n, **overrides):
    """Exact-MLE settings: every example in one batch, no validation split."""
    return SupervisedConfig(batch_size=n, validation_fraction=0, **overrides)


def linear_parameters(model):
    """(W [k, d], b [k]) of a linear Predictor, as float64 numpy arrays."""
    layer = model.net[0]
    return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lr", 0.0, "lr must be a finite number > 0, got 0.0"),
        ("lr", math.inf, "lr must be a finite number > 0"),
        ("epochs", 0, "epochs must be an integer >= 1, got 0"),
        ("epochs", 2.0, "epochs must be an integer >= 1, got 2.0"),
        ("batch_size", True, "batch_size must be an integer >= 1, got True"),
        ("patience", -1, "patience must be an integer >= 1"),
        ("validation_fraction", -0.1, r"validation_fraction must be in \[0, 1\), got -0.1"),
        ("validation_fraction", 1.0, r"validation_fraction must be in \[0, 1\)"),
        ("optimizer", "rmsprop", "optimizer must be 'adam' or 'sgd', got 'rmsprop'"),
        ("weight_decay", -1e-3, "weight_decay must be a finite number >= 0"),
        ("hidden_sizes", [64], r"hidden_sizes must be a tuple of integers >= 1"),
        ("hidden_sizes", (64, 0), r"hidden_sizes must be a tuple of integers >= 1"),
        ("activation", "sigmoid", "activation must be one of"),
        ("seed", -1, "seed must be an integer >= 0, got -1"),
        ("progress", 1, "progress must be a bool, got 1"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        SupervisedConfig(**{field: value})


def test_config_round_trips_through_toml_and_overrides(tmp_path):
    # The command line (rlbasics.configs) must be able to store and set every field.
    config = SupervisedConfig(lr=0.5, hidden_sizes=(32, 32), optimizer="sgd", seed=3)
    assert read_config(write_config(tmp_path / "config.toml", config), SupervisedConfig) == config
    overridden = apply_overrides(SupervisedConfig(), ["hidden_sizes=64,64", "patience=3"])
    assert (overridden.hidden_sizes, overridden.patience) == ((64, 64), 3)


# --- known optima ---------------------------------------------------------------------------


def test_bernoulli_mle_is_the_sample_mean():
    # 55 heads in 100 flips: the MLE of P(heads) is 55/100, the bias-only logistic model's
    # optimum (a constant feature only), and the minimum log-loss is the binary entropy
    # H(0.55) = −(0.55 ln 0.55 + 0.45 ln 0.45) = 0.688139 nats.
    X = np.ones((100, 1))
    y = np.r_[np.ones(55), np.zeros(45)]
    model, history = logistic_regression(X, y, config=full_batch(100, lr=0.3, epochs=150))
    assert abs(torch.sigmoid(model(X[:1])).item() - 0.55) < 1e-3
    entropy = -(0.55 * math.log(0.55) + 0.45 * math.log(0.45))
    assert abs(history.train_loss[-1] - entropy) < 1e-5


def newton_logistic_mle(A, y, steps=30):
    """Plain numpy Newton–Raphson for the log-loss: θ ← θ − H⁻¹ g (the reference)."""
    theta = np.zeros(A.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-A @ theta))
        hessian = (A * (p * (1 - p))[:, None]).T @ A
        theta -= np.linalg.solve(hessian, A.T @ (p - y))
    return theta


def test_logistic_regression_recovers_a_known_logistic_model():
    rng = np.random.default_rng(0)
    n, true = 4000, np.array([1.5, -2.0, 0.5])  # weights w1, w2 and bias b
    X = rng.normal(size=(n, 2))
    A = np.c_[X, np.ones(n)]
    y = (rng.random(n) < 1 / (1 + np.exp(-A @ true))).astype(np.float64)
    model, _ = logistic_regression(X, y, config=full_batch(n, lr=0.1, epochs=300))
    weight, bias = linear_parameters(model)
    estimate = np.r_[weight[0], bias]
    # 1. The optimiser finds the MLE: agreement with Newton's method (float32 training).
    np.testing.assert_allclose(estimate, newton_logistic_mle(A, y), atol=1e-3)
    # 2. The MLE recovers the truth within 5 standard errors per coordinate. The MLE is
    # asymptotically N(θ*, I(θ*)⁻¹) with Fisher information I = Aᵀ diag(p(1 − p)) A; at
    # n = 4000 the standard errors are ≈ 0.04–0.06. P(|Z| > 5) = 5.7e-7 per coordinate, so
    # a correct learner fails this on fewer than 2e-6 of random datasets.
    p = 1 / (1 + np.exp(-A @ true))
    standard_errors = np.sqrt(np.diag(np.linalg.inv((A * (p * (1 - p))[:, None]).T @ A)))
    assert np.all(np.abs(estimate - true) < 5 * standard_errors), (estimate, standard_errors)


def test_softmax_regression_on_one_hot_inputs_gives_the_class_frequencies():
    # One-hot inputs: each input has its own logits, so the MLE of P(y = k | input j) is the
    # fraction of class k among the examples with input j (no zero counts: finite logits).
    rng = np.random.default_rng(1)
    inputs = rng.integers(0, 3, size=300)
    y = rng.integers(0, 4, size=300)
    frequencies = np.array([np.bincount(y[inputs == j], minlength=4) / np.sum(inputs == j)
                            for j in range(3)])
    assert frequencies.min() > 0
    X = np.eye(3)[inputs]
    model, _ = softmax_regression(X, y, 4, config=full_batch(300, lr=0.2, epochs=200))
    probabilities = torch.softmax(model(np.eye(3)), dim=-1).detach().numpy()
    np.testing.assert_allclose(probabilities, frequencies, atol=1e-3)


@pytest.mark.parametrize("outputs", [None, 2])
def test_regression_recovers_least_squares(outputs):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    true = rng.normal(size=(3, outputs or 1))
    y = X @ true + 3.0 + 0.1 * rng.normal(size=(200, outputs or 1))
    y = y[:, 0] if outputs is None else y
    model, history = regression(X, y, config=full_batch(200, lr=0.2, epochs=300))
    A = np.c_[X, np.ones(200)]
    solution, residuals, *_ = np.linalg.lstsq(A, y, rcond=None)
    weight, bias = linear_parameters(model)
    np.testing.assert_allclose(np.r_[weight.T, bias[None]].reshape(solution.shape), solution,
                               atol=1e-4)
    # The history's loss is the MSE; at the optimum it is the residual sum of squares / (n m).
    assert abs(history.train_loss[-1] - residuals.sum() / y.size) < 1e-6
    assert model(X).shape == y.shape


def test_tabular_behaviour_cloning_recovers_the_action_frequencies():
    # The MLE of a tabular softmax policy is π(a|s) = count(s, a) / count(s).
    rng = np.random.default_rng(3)
    observations = rng.integers(0, 3, size=600)
    actions = rng.integers(0, 3, size=600)
    frequencies = np.array([np.bincount(actions[observations == s], minlength=3)
                            / np.sum(observations == s) for s in range(3)])
    policy, _ = behaviour_cloning(observations, actions, spaces.Discrete(3), spaces.Discrete(3),
                                  config=full_batch(600, lr=0.2, epochs=200))
    assert isinstance(policy, TabularSoftmaxPolicy)
    probabilities = torch.softmax(policy.logits, dim=-1).detach().numpy()
    np.testing.assert_allclose(probabilities, frequencies, atol=1e-3)


def test_gaussian_behaviour_cloning_fits_least_squares_mean_and_residual_std():
    # A linear Gaussian policy N(a; W s + b, diag σ²): the MLE of (W, b) is least squares per
    # action dimension, and that of σ_j the root mean squared residual (divisor n).
    rng = np.random.default_rng(4)
    n = 500
    observations = rng.normal(size=(n, 3)).astype(np.float32)
    actions = (observations @ rng.normal(size=(3, 2)) + [0.5, -1.0]
               + rng.normal(size=(n, 2)) * [0.3, 0.8]).astype(np.float32)
    observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
    action_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    policy, history = behaviour_cloning(observations, actions, observation_space, action_space,
                                        config=full_batch(n, lr=0.1, epochs=300))
    assert isinstance(policy, GaussianMLPPolicy)
    A = np.c_[observations, np.ones(n)].astype(np.float64)
    solution, residuals, *_ = np.linalg.lstsq(A, actions.astype(np.float64), rcond=None)
    mean = policy.deterministic(observations).double().numpy()
    np.testing.assert_allclose(mean, A @ solution, atol=1e-4)
    std = policy.log_std.exp().detach().double().numpy()
    np.testing.assert_allclose(std, np.sqrt(residuals / n), rtol=1e-3)
    # The minimum NLL per example is Σ_j [log σ_j + ½ (1 + log 2π)] at the fitted σ.
    minimum = np.sum(np.log(np.sqrt(residuals / n)) + 0.5 * (1 + math.log(2 * math.pi)))
    assert history.train_loss[-1] == pytest.approx(minimum, abs=1e-4)


# --- weighted behaviour cloning -------------------------------------------------------------


def small_discrete_demos(n=40, seed=5):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 2, size=n),
            spaces.Box(-np.inf, np.inf, (4,), np.float32), spaces.Discrete(2))


def test_weights_of_one_or_a_constant_equal_plain_behaviour_cloning():
    observations, actions, observation_space, action_space = small_discrete_demos()
    config = SupervisedConfig(lr=0.01, epochs=20, batch_size=8, hidden_sizes=(16,), seed=7)
    plain, plain_history = behaviour_cloning(observations, actions, observation_space,
                                             action_space, config=config)
    _, ones_history = behaviour_cloning(observations, actions, observation_space,
                                           action_space, config=config, weights=np.ones(40))
    assert ones_history.train_loss == plain_history.train_loss
    # J = Σ w ℓ / Σ w does not change when every weight is multiplied by 3.7.
    scaled, scaled_history = behaviour_cloning(observations, actions, observation_space,
                                               action_space, config=config,
                                               weights=np.full(40, 3.7))
    np.testing.assert_allclose(scaled_history.train_loss, plain_history.train_loss, rtol=1e-5)
    np.testing.assert_allclose(scaled_history.validation_loss, plain_history.validation_loss,
                               rtol=1e-5)
    for a, b in zip(scaled.parameters(), plain.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)


def test_integer_weights_equal_repeating_the_examples():
    # Σ_i k_i ℓ_i / Σ_i k_i is the mean loss over a dataset where example i appears k_i times;
    # full-batch steps on the two datasets are the same steps.
    observations, actions, observation_space, action_space = small_discrete_demos()
    counts = np.random.default_rng(6).integers(0, 4, size=40)
    config = full_batch(200, lr=0.05, epochs=50, hidden_sizes=(8,))
    weighted, history = behaviour_cloning(observations, actions, observation_space,
                                          action_space, config=config, weights=counts)
    repeated, repeated_history = behaviour_cloning(
        np.repeat(observations, counts, axis=0), np.repeat(actions, counts), observation_space,
        action_space, config=config)
    np.testing.assert_allclose(history.train_loss, repeated_history.train_loss, rtol=1e-5)
    for a, b in zip(weighted.parameters(), repeated.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)


def test_weighted_behaviour_cloning_steps_along_the_reinforce_gradient():
    # One full-batch SGD step from θ = 0 (the tabular policy's start): θ_1 = −lr ∇J with
    # J = −Σ w log π / Σ w. The REINFORCE surrogate with Ψ = w is −(1/n) Σ w log π, so
    # ∇J = (n / Σ w) ∇ policy_gradient_loss(log π, w).
    rng = np.random.default_rng(8)
    observations, actions = rng.integers(0, 4, size=30), rng.integers(0, 3, size=30)
    returns = rng.uniform(0, 10, size=30)
    lr = 0.5
    policy, _ = behaviour_cloning(observations, actions, spaces.Discrete(4), spaces.Discrete(3),
                                  config=full_batch(30, lr=lr, epochs=1, optimizer="sgd"),
                                  weights=returns)
    reference = TabularSoftmaxPolicy(4, 3)
    log_probs = reference.log_prob(observations, actions)
    loss = policy_gradient_loss(log_probs, torch.as_tensor(returns, dtype=torch.float32))
    (30 / returns.sum() * loss).backward()
    np.testing.assert_allclose(policy.logits.detach().numpy(),
                               -lr * reference.logits.grad.numpy(), atol=1e-6)


# --- the loop -------------------------------------------------------------------------------


def test_same_seed_same_history_and_another_seed_another_split():
    observations, actions, observation_space, action_space = small_discrete_demos()

    def run(seed):
        config = SupervisedConfig(lr=0.01, epochs=5, batch_size=8, hidden_sizes=(8,), seed=seed)
        policy, history = behaviour_cloning(observations, actions, observation_space,
                                            action_space, config=config)
        return [p.detach().clone() for p in policy.parameters()], history

    (params_a, a), (params_b, b), (_, c) = run(3), run(3), run(4)
    assert a.train_loss == b.train_loss and a.validation_loss == b.validation_loss
    assert np.array_equal(a.validation_indices, b.validation_indices)
    assert all(torch.equal(x, y) for x, y in zip(params_a, params_b, strict=True))
    assert not np.array_equal(a.validation_indices, c.validation_indices)


def test_validation_split_sizes():
    X, y = np.arange(16.0)[:, None], np.arange(16.0)
    _, history = regression(X, y, config=SupervisedConfig(validation_fraction=0.25, epochs=1))
    assert len(history.validation_indices) == 4  # round(0.25 · 16)
    assert len(set(history.validation_indices.tolist())) == 4
    assert len(history.train_loss) == len(history.validation_loss) == 1
    _, tiny = regression(X[:3], y[:3], config=SupervisedConfig(validation_fraction=0.01, epochs=1))
    assert len(tiny.validation_indices) == 1  # at least one example whenever fraction > 0


def test_early_stopping_returns_the_best_epoch_parameters():
    # An MLP on 30 points of pure noise overfits: the validation loss turns up and stays up.
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    config = SupervisedConfig(lr=0.01, epochs=500, batch_size=30, validation_fraction=0.3,
                              patience=15, hidden_sizes=(64, 64))
    model, history = regression(X, y, config=config)
    assert history.stopped_early
    assert len(history.train_loss) == history.best_epoch + 1 + config.patience
    assert history.validation_loss[history.best_epoch] == min(history.validation_loss)
    rows = history.validation_indices
    predictions = model(X[rows]).detach().double().numpy()
    assert np.mean((predictions - y[rows]) ** 2) == pytest.approx(
        history.validation_loss[history.best_epoch], rel=1e-5)


def test_without_validation_all_epochs_run_and_the_last_is_kept():
    X, y = np.arange(8.0)[:, None], np.arange(8.0)
    _, history = regression(X, y, config=SupervisedConfig(validation_fraction=0, epochs=7))
    assert (len(history.train_loss), history.validation_loss, history.best_epoch,
            history.stopped_early, len(history.validation_indices)) == (7, [], 6, False, 0)


def test_sgd_with_weight_decay_finds_the_ridge_solution():
    # weight_decay λ adds λθ to the gradient of J(θ) = (1/n)‖y − Aθ‖² (bias included in θ),
    # so the optimum solves (2/n) Aᵀ(Aθ − y) + λθ = 0: θ = ((2/n) AᵀA + λI)⁻¹ (2/n) Aᵀy.
    rng = np.random.default_rng(10)
    X = rng.normal(size=(100, 2))
    y = X @ [3.0, -3.0] + 1.0
    model, _ = regression(X, y, config=full_batch(100, lr=0.1, epochs=300, optimizer="sgd",
                                                  weight_decay=1.0))
    A = np.c_[X, np.ones(100)]
    ridge = np.linalg.solve(2 / 100 * A.T @ A + np.eye(3), 2 / 100 * A.T @ y)
    weight, bias = linear_parameters(model)
    np.testing.assert_allclose(np.r_[weight[0], bias], ridge, atol=1e-4)


def test_progress_bar_runs(capsys):
    X, y = np.arange(8.0)[:, None], np.arange(8.0)
    regression(X, y, config=SupervisedConfig(epochs=2, progress=True))


def test_divergence_is_a_clear_error():
    X = np.random.default_rng(11).normal(size=(50, 3)) * 100
    with pytest.raises(ValueError, match=r"diverged at epoch \d+.*smaller lr \(got 1000.0\)"):
        regression(X, X.sum(axis=1), config=full_batch(50, lr=1000.0, optimizer="sgd"))


def test_fit_checks_its_arguments():
    model = torch.nn.Linear(1, 1)
    x = torch.zeros(3, 1)
    with pytest.raises(TypeError, match="config must be a SupervisedConfig"):
        fit(model, lambda x: x.sum(-1), (x,), {"lr": 0.1})
    with pytest.raises(ValueError, match=r"same number n >= 1 of rows, got \[3, 2\]"):
        fit(model, lambda x, y: x.sum(-1), (x, torch.zeros(2)), SupervisedConfig())
    with pytest.raises(TypeError, match="non-empty sequence of torch tensors"):
        fit(model, lambda x: x.sum(-1), (np.zeros(3),), SupervisedConfig())


# --- bad input ------------------------------------------------------------------------------

X4, Y4 = np.zeros((4, 2)), np.array([0, 1, 1, 0])
BOX4, BIN = spaces.Box(-np.inf, np.inf, (2,), np.float32), spaces.Discrete(2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: logistic_regression(X4, [0, 1, 2, 0]), ValueError,
         r"y must be in \[0, 1\] \(0/1 labels or probabilities\), got 2"),
        (lambda: logistic_regression(X4, [0, 1, np.nan, 0]), ValueError, r"y must be in \[0, 1\]"),
        (lambda: logistic_regression(np.where(np.eye(4, 2), np.nan, 0), Y4), ValueError,
         "X must be finite, got nan at row 0"),
        (lambda: logistic_regression(X4, Y4[:3]), ValueError,
         r"same number of rows, got \{'X': 4, 'y': 3\}"),
        (lambda: logistic_regression(np.zeros((0, 2)), []), ValueError,
         "X must hold at least one example"),
        (lambda: logistic_regression(np.zeros(4), Y4), ValueError,
         r"X must have shape \[n, d\], got \(4,\)"),
        (lambda: logistic_regression(np.array([["a", "b"]] * 4), Y4), TypeError,
         "X must hold real numbers, got dtype <U1"),
        (lambda: logistic_regression(X4.astype(bool), Y4), TypeError, "X must hold numbers"),
        (lambda: softmax_regression(X4, [0, 1, 3, 0], 3), ValueError,
         r"y must be in \[0, 3\), got 3"),
        (lambda: softmax_regression(X4, [0, 1, -1, 0], 3), ValueError, r"got -1"),
        (lambda: softmax_regression(X4, [0.0, 1.0, 1.0, 0.0], 3), TypeError,
         "y must be integer class indices, got dtype float64"),
        (lambda: softmax_regression(X4, Y4, 1), ValueError, "n_classes must be an integer >= 2"),
        (lambda: regression(X4, np.zeros((4, 1, 1))), ValueError,
         r"y must have shape \[n\] or \[n, m\]"),
        (lambda: regression(X4, [0.0, np.inf, 0.0, 0.0]), ValueError, "y must be finite"),
        (lambda: regression(X4[:1], [0.0], config=SupervisedConfig(validation_fraction=0.5)),
         ValueError, "leaves no training example"),
        (lambda: regression(X4, Y4, config={"lr": 0.1}), TypeError,
         "config must be a SupervisedConfig, got dict"),
        (lambda: behaviour_cloning(X4, [0, 1, 2, 0], BOX4, BIN), ValueError,
         r"actions must be in \[0, 2\), got 2"),
        (lambda: behaviour_cloning(X4, Y4.astype(np.float32), BOX4, BIN), TypeError,
         "actions must be integer class indices, got dtype float32"),
        (lambda: behaviour_cloning(np.full((4, 2), np.nan), Y4, BOX4, BIN), ValueError,
         "observations must be finite, got nan at row 0"),
        (lambda: behaviour_cloning(np.zeros((4, 3)), Y4, BOX4, BIN), ValueError,
         r"observations must have shape \[n, 2\], got \(4, 3\)"),
        (lambda: behaviour_cloning(np.array([0, 5]), [0, 1], spaces.Discrete(3), BIN), ValueError,
         r"observations must be in \[0, 3\), got 5"),
        (lambda: behaviour_cloning(X4, Y4[:2], BOX4, BIN), ValueError, "same number of rows"),
        (lambda: behaviour_cloning(X4[:0], Y4[:0], BOX4, BIN), ValueError,
         "observations must hold at least one example"),
        (lambda: behaviour_cloning(X4, Y4, BOX4, BIN, weights=[1, -1, 1, 1]), ValueError,
         "weights must be finite and >= 0, got -1"),
        (lambda: behaviour_cloning(X4, Y4, BOX4, BIN, weights=[1, 1]), ValueError,
         r"weights must have shape \[n\] = \(4,\), got \(2,\)"),
        (lambda: behaviour_cloning(X4, Y4, BOX4, BIN, weights=np.zeros(4),
                                   config=SupervisedConfig(validation_fraction=0)), ValueError,
         "weights must have a positive sum over the training split"),
        (lambda: behaviour_cloning(X4, Y4, BOX4, spaces.MultiBinary(2)), TypeError,
         "unsupported action_space"),
    ],
)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
