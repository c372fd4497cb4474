"""rlbasics.optim on functions whose answers are known in closed form: quadratics
f(w) = ½ wᵀAw − bᵀw (minimum A⁻¹b, rates set by the eigenvalues of A) and least squares."""

import numpy as np
import pytest

from rlbasics.optim import History, gradient_descent, minibatch_sgd, newton


def quadratic(condition_number, dimension=5, seed=0):
    """f(w) = ½ wᵀAw − bᵀw with A = Q diag(μ … L) Qᵀ, μ = 1, L = κ; returns f, ∇f, ∇²f, w*."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(dimension, dimension)))
    eigenvalues = np.linspace(1.0, condition_number, dimension)
    hessian = rotation @ np.diag(eigenvalues) @ rotation.T
    b = rng.normal(size=dimension)
    return (lambda w: 0.5 * w @ hessian @ w - b @ w, lambda w: hessian @ w - b,
            lambda w: hessian, np.linalg.solve(hessian, b))


def test_newton_solves_a_quadratic_in_one_step():
    f, grad, hess, minimum = quadratic(condition_number=1000.0)
    run = newton(f, grad, hess, np.full(5, 3.0), steps=1)
    np.testing.assert_allclose(run.parameters[1], minimum, rtol=1e-10)
    assert run.losses[1] == pytest.approx(-0.5 * minimum @ hess(None) @ minimum)  # f(w*) = −½bᵀA⁻¹b


def test_newton_in_one_dimension_is_w_minus_c_prime_over_c_double_prime():
    # C(w) = 3(w − 2)² + 1: C′ = 6(w − 2), C″ = 6 → w − C′/C″ = 2 from anywhere
    run = newton(lambda w: 3 * (w - 2) ** 2 + 1, lambda w: 6 * (w - 2), lambda w: 6.0, -7.5, 1)
    assert run.parameters.tolist() == [-7.5, 2.0]
    assert run.losses.tolist() == [3 * 9.5**2 + 1, 1.0]


def test_newton_squares_the_error_near_a_minimum():
    # C(w) = e^w − 2w: minimum w* = ln 2; C″(w*) = 2, C‴(w*) = 2, so the error obeys
    # e_{k+1} ≈ C‴/(2C″) e_k² = ½ e_k² (quadratic convergence).
    run = newton(lambda w: np.exp(w) - 2 * w, lambda w: np.exp(w) - 2, np.exp, 1.0, steps=4)
    errors = np.abs(run.parameters - np.log(2))
    assert errors[-1] < 1e-12
    # measured e_{k+1}/e_k² for e_k ≈ 4e-2, 9e-4, 4e-7: 0.493, 0.4999, 0.4997 (→ ½ as e_k → 0;
    # e₄ ≈ 8e-14 carries a rounding error of ~1e-16, 0.2 % of it)
    np.testing.assert_allclose(errors[2:5] / errors[1:4] ** 2, 0.5, rtol=0.02)


@pytest.mark.parametrize("condition_number", [10.0, 100.0])
def test_gradient_descent_rate_is_one_minus_one_over_kappa(condition_number):
    # η = 1/L: e_{k+1} = (I − A/L) e_k, whose largest factor is 1 − μ/L = 1 − 1/κ; a generic
    # start has a component along the μ-eigenvector, so the bound is reached asymptotically.
    f, grad, _, minimum = quadratic(condition_number)
    # 10κ steps: the error falls to (1 − 1/κ)^10κ ≈ e^−10 ≈ 5e-5, far above rounding
    steps = int(10 * condition_number)
    run = gradient_descent(f, grad, np.zeros(5), learning_rate=1 / condition_number, steps=steps)
    errors = np.linalg.norm(run.parameters - minimum, axis=1)
    ratios = errors[1:] / errors[:-1]
    bound = 1 - 1 / condition_number
    # slack 1e-9: w* from a linear solve is off by ~κ·1e-16, against errors ≥ 1e-5 (measured
    # excess ≤ 2e-12)
    assert np.all(ratios <= bound + 1e-9)
    assert ratios[-1] == pytest.approx(bound, abs=1e-6)  # the other modes have died out
    assert np.all(np.diff(run.losses) < 0)


def test_gradient_descent_diverges_above_two_over_l():
    # η = 2.2/L: the L-eigen component is multiplied by |1 − 2.2| = 1.2 each step.
    # η = 1.9/L: every factor |1 − ηλ| ≤ max(0.9, 1 − 1.9/κ) < 1: it converges.
    f, grad, _, minimum = quadratic(condition_number=10.0)
    diverging = gradient_descent(f, grad, np.zeros(5), learning_rate=2.2 / 10, steps=100)
    errors = np.linalg.norm(diverging.parameters - minimum, axis=1)
    assert errors[-1] / errors[-2] == pytest.approx(1.2, abs=1e-3)
    assert errors[-1] > 1e6 * errors[0]
    converging = gradient_descent(f, grad, np.zeros(5), learning_rate=1.9 / 10, steps=300)
    assert np.linalg.norm(converging.parameters[-1] - minimum) < 1e-6 * errors[0]


def least_squares(seed=0, n=500, dimension=5):
    """J(w) = (1/2n) ‖Xw − y‖²; ∇J over a minibatch B is X_Bᵀ(X_B w − y_B)/|B|."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dimension))
    y = x @ rng.normal(size=dimension) + 0.5 * rng.normal(size=n)

    def loss(w):
        return 0.5 * np.mean((x @ w - y) ** 2)

    def gradient(w, indices):
        return x[indices].T @ (x[indices] @ w - y[indices]) / len(indices)

    return loss, gradient, np.linalg.lstsq(x, y, rcond=None)[0]


def test_minibatch_sgd_gets_near_the_least_squares_solution():
    loss, gradient, solution = least_squares()
    run = minibatch_sgd(loss, gradient, np.zeros(5), n_examples=500, batch_size=25,
                        learning_rate=0.05, epochs=30, rng=np.random.default_rng(0))
    assert run.parameters.shape == (30 * 20 + 1, 5)
    # Constant-η SGD ends in a noise ball around w*; measured ≈ 0.011 from a start 2.3 away.
    assert np.linalg.norm(run.parameters[-1] - solution) < 0.03
    assert run.losses[-1] < 1.001 * loss(solution)


def test_minibatch_sgd_with_the_full_batch_is_gradient_descent():
    loss, gradient, _ = least_squares()
    sgd = minibatch_sgd(loss, gradient, np.zeros(5), n_examples=500, batch_size=500,
                        learning_rate=0.1, epochs=20, rng=np.random.default_rng(0))
    gd = gradient_descent(loss, lambda w: gradient(w, np.arange(500)), np.zeros(5),
                          learning_rate=0.1, steps=20)
    np.testing.assert_allclose(sgd.parameters, gd.parameters, rtol=1e-10, atol=1e-12)


def test_minibatch_sgd_uses_every_example_once_per_epoch_and_is_seeded():
    seen = []

    def recording_gradient(w, indices):
        seen.append(indices.copy())
        return np.zeros_like(w)

    def run(seed):
        return minibatch_sgd(lambda w: 0.0, recording_gradient, 0.0, n_examples=10, batch_size=3,
                             learning_rate=0.1, epochs=2, rng=np.random.default_rng(seed))

    run(5)
    assert [len(batch) for batch in seen] == [3, 3, 3, 1] * 2  # ⌈10/3⌉ = 4 batches per epoch
    for epoch in (seen[:4], seen[4:]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(10))
    assert not np.array_equal(np.concatenate(seen[:4]), np.concatenate(seen[4:]))  # reshuffled
    first = list(seen)
    seen.clear()
    run(5)
    assert all(np.array_equal(a, b) for a, b in zip(first, seen, strict=True))


def test_history_records_the_start_and_every_step_without_touching_the_input():
    start = np.array([1.0, -1.0])
    run = gradient_descent(lambda w: w @ w, lambda w: 2 * w, start, learning_rate=0.25, steps=3)
    assert isinstance(run, History)
    np.testing.assert_allclose(run.parameters, [[1, -1], [0.5, -0.5], [0.25, -0.25],
                                                [0.125, -0.125]])  # w ← w − 0.25·2w = w/2
    np.testing.assert_allclose(run.losses, [2, 0.5, 0.125, 0.03125])
    np.testing.assert_array_equal(start, [1.0, -1.0])
    still = gradient_descent(lambda w: w @ w, lambda w: 2 * w, start, learning_rate=0.1, steps=0)
    assert still.parameters.shape == (1, 2) and still.losses.tolist() == [2.0]


def test_bad_input_is_rejected_with_a_clear_message():
    def f(w):
        return float(w @ w)

    def grad(w):
        return 2 * w

    w0 = np.ones(2)
    for rate in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="learning_rate must be > 0 and finite"):
            gradient_descent(f, grad, w0, learning_rate=rate, steps=1)
    for rate in ("0.1", True, None):
        with pytest.raises(TypeError, match="learning_rate must be a real number"):
            gradient_descent(f, grad, w0, learning_rate=rate, steps=1)
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        gradient_descent(f, grad, w0, learning_rate=0.1, steps=-1)
    with pytest.raises(TypeError, match=r"steps must be an integer, got 2\.5"):
        gradient_descent(f, grad, w0, learning_rate=0.1, steps=2.5)
    with pytest.raises(ValueError, match="initial must be finite"):
        gradient_descent(f, grad, [1.0, np.nan], learning_rate=0.1, steps=1)
    with pytest.raises(TypeError, match="initial must be a real number or array"):
        gradient_descent(f, grad, ["a", "b"], learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match=r"gradient returned shape \(3,\), expected \(2,\)"):
        gradient_descent(f, lambda w: np.ones(3), w0, learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match=r"loss returned shape \(2,\), expected \(\)"):
        gradient_descent(lambda w: w, grad, w0, learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match=r"batch_size must be <= n_examples \(10\), got 11"):
        minibatch_sgd(f, lambda w, i: grad(w), w0, 10, 11, 0.1, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        minibatch_sgd(f, lambda w, i: grad(w), w0, 10, 0, 0.1, 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator, got int"):
        minibatch_sgd(f, lambda w, i: grad(w), w0, 10, 2, 0.1, 1, 0)
    with pytest.raises(ValueError, match=r"hessian returned shape \(2,\), expected \(2, 2\)"):
        newton(f, grad, lambda w: np.ones(2), w0, steps=1)
    with pytest.raises(ValueError, match="the Hessian is singular at step 0"):
        newton(f, grad, lambda w: np.ones((2, 2)), w0, steps=1)
    with pytest.raises(ValueError, match="the Hessian is singular at step 0"):
        newton(lambda w: w, lambda w: 1.0, lambda w: 0.0, 1.0, steps=1)
    with pytest.raises(ValueError, match=r"initial must be a scalar or 1-D for newton"):
        newton(f, grad, lambda w: np.eye(2), np.ones((2, 2)), steps=1)
