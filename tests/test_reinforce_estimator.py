"""The REINFORCE gradient estimator against the exact ∇J(θ) of `rlbasics.exact`.

Statistical bound. Each estimate ĝ averages E episodes; M independent estimates give a mean
whose coordinates are ~Normal around E ĝ (central limit, M ≥ 200). We call a variant
unbiased when every coordinate's |z| = |mean − ∇J| / (sd/√M) < 5.3: a false failure has
probability ≤ 1.2e-7 per coordinate (two-sided normal tail at 5.3), and this file checks
fewer than 400 coordinates in all, so the whole file fails by chance with probability
< 5e-5 (≤ 1e-4 as required). A bias is *shown* when |z| > 5.3 at some coordinate and the
mean matches what the theory says the biased estimator estimates.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the rlbasics/ envs)
from agents.estimators import estimator_statistics, gradient_estimates
from envs.tabular import random_mdp
from rlbasics import exact
from rlbasics.policies import GaussianMLPPolicy, TabularSoftmaxPolicy

Z_BOUND = 5.3


def tabular_policy(logits: np.ndarray) -> TabularSoftmaxPolicy:
    policy = TabularSoftmaxPolicy(*logits.shape)
    with torch.no_grad():
        policy.logits.copy_(torch.as_tensor(logits))
    return policy


def exact_gradient(model, logits: np.ndarray, gamma: float) -> np.ndarray:
    """∇J for per-state logits [S, A], or for one shared row when the state is hidden."""
    theta = torch.as_tensor(logits[0] if len(logits) == 1 else logits, dtype=torch.float64)
    return exact.exact_gradient(model, theta, gamma).numpy().ravel()


def undiscounted_visitation_gradient(model, logits: np.ndarray, gamma: float) -> np.ndarray:
    """What REINFORCE without the γ^t factor estimates: E[Σ_t ∇log π(a_t|s_t) G_t] =
    Σ_s η(s) Σ_a ∇π(a|s) Q_γ(s, a), with η(s) = Σ_t Pr(s_t = s) the *undiscounted* expected
    number of visits (the policy-gradient theorem with η in place of the discounted d^π)."""
    theta = torch.as_tensor(logits, dtype=torch.float64).requires_grad_(True)
    policy = exact.policy_probabilities(theta)
    q_values = exact.action_values(model, policy.detach(), gamma)
    visits = exact.discounted_visitation(model, policy.detach(), 1.0)
    (gradient,) = torch.autograd.grad((visits[:, None] * policy * q_values).sum(), theta)
    return gradient.numpy().ravel()


def mdp_kwargs(model) -> dict:
    return {"transitions": model.transitions, "rewards": model.rewards,
            "initial": model.initial, "terminal": model.terminal}


BANDIT_VARIANTS = [
    {"weights": "total_return"},
    {"weights": "reward_to_go"},
    {"baseline": "mean"},
    {"baseline": "value", "state_values": np.array([0.3, 0.0])},
]


@pytest.mark.parametrize("variant", BANDIT_VARIANTS, ids=lambda v: "-".join(map(str, v.values()))
                         if "state_values" not in v else "value")
def test_every_variant_is_unbiased_on_the_bandit(variant):
    # J = Σ_a π(a) μ_a with μ = (0.2, 0.5, 0.8): ∇J = π ⊙ (μ − J), a closed form.
    logits = np.array([[0.4, -0.3, 0.1]])
    model = gym.make("rlbasics/Bandit-v0").unwrapped.model()
    estimates = gradient_estimates("rlbasics/Bandit-v0", tabular_policy(logits), gamma=1.0,
                                   batches=400, episodes_per_batch=8, seed=1, **variant)
    pi = np.exp(logits[0]) / np.exp(logits[0]).sum()
    means = np.array([0.2, 0.5, 0.8])
    closed_form = pi * (means - pi @ means)
    np.testing.assert_allclose(exact_gradient(model, logits, 1.0), closed_form, atol=1e-12)
    assert estimator_statistics(estimates, closed_form).max_abs_z < Z_BOUND


@pytest.fixture(scope="module")
def small_mdp():
    return random_mdp(4, 2, seed=7, termination_probability=0.2).model()


@pytest.mark.parametrize(
    "variant",
    [
        {"weights": "total_return"},
        {"discount_weighting": True},
        {"discount_weighting": True, "baseline": "mean"},
        {"discount_weighting": True, "baseline": "value",
         "state_values": np.array([1.0, -1.0, 0.5, 0.0])},
    ],
    ids=["total-return", "reward-to-go-with-gamma-t", "mean-baseline", "value-baseline"],
)
def test_discounted_variants_are_unbiased_on_a_random_mdp(small_mdp, variant):
    gamma = 0.8
    logits = np.random.default_rng(3).normal(size=(4, 2))
    estimates = gradient_estimates(
        "rlbasics/TabularMDP-v0", tabular_policy(logits), gamma=gamma, batches=300,
        episodes_per_batch=10, seed=2, env_kwargs=mdp_kwargs(small_mdp), **variant,
    )
    truth = exact_gradient(small_mdp, logits, gamma)
    assert estimator_statistics(estimates, truth).max_abs_z < Z_BOUND


def test_dropping_gamma_t_is_biased_the_way_the_theory_says(small_mdp):
    # Common practice (no γ^t) estimates Σ_s η(s) Σ_a ∇π Q_γ, not ∇J = Σ_s d_γ(s) Σ_a ∇π Q_γ.
    gamma = 0.5
    logits = np.random.default_rng(4).normal(size=(4, 2))
    estimates = gradient_estimates(
        "rlbasics/TabularMDP-v0", tabular_policy(logits), gamma=gamma, batches=400,
        episodes_per_batch=10, seed=3, env_kwargs=mdp_kwargs(small_mdp),
    )
    truth = exact_gradient(small_mdp, logits, gamma)
    predicted = undiscounted_visitation_gradient(small_mdp, logits, gamma)
    assert estimator_statistics(estimates, predicted).max_abs_z < Z_BOUND
    assert estimator_statistics(estimates, truth).max_abs_z > Z_BOUND


def test_reward_to_go_with_a_mean_baseline_is_unbiased_on_short_corridor():
    # γ = 1, one logit row shared by the three look-alike states; p = P(right) ≈ 0.43.
    logits = np.array([[0.0, -0.3]])  # actions: 0 = left, 1 = right
    model = gym.make("rlbasics/ShortCorridor-v0").unwrapped.model()
    estimates = gradient_estimates(
        "rlbasics/ShortCorridor-v0", tabular_policy(logits), gamma=1.0, batches=200,
        episodes_per_batch=10, seed=4, baseline="mean",
    )
    assert estimator_statistics(estimates, exact_gradient(model, logits, 1.0)).max_abs_z < Z_BOUND


def test_gaussian_policy_gradient_matches_the_closed_form_on_target_reach():
    # J(μ, σ) = −((μ − c)² + σ²): ∂J/∂μ = −2(μ − c), ∂J/∂log σ = −2σ². With hidden_sizes=()
    # and the constant observation 0, μ is the output bias alone (the weight gets 0).
    target, mean, log_std = 1.0, 0.2, -0.5
    policy = GaussianMLPPolicy(1, 1, hidden_sizes=(), log_std_init=log_std,
                               action_low=np.array([-5.0]), action_high=np.array([5.0]))
    names = [name for name, _ in policy.named_parameters()]
    with torch.no_grad():
        next(p for name, p in policy.named_parameters() if name.endswith("bias")).fill_(mean)
    estimates = gradient_estimates("rlbasics/TargetReach-v0", policy, gamma=1.0, batches=300,
                                   episodes_per_batch=16, seed=5)
    sigma2 = np.exp(2 * log_std)
    closed_form = {"bias": -2 * (mean - target), "log_std": -2 * sigma2, "weight": 0.0}
    truth = np.array([next(v for k, v in closed_form.items() if name.endswith(k))
                      for name in names])
    assert estimator_statistics(estimates, truth).max_abs_z < Z_BOUND


def test_reward_to_go_and_a_baseline_reduce_variance_on_a_random_mdp(small_mdp):
    # Rewards shifted by +1 per step: G(τ) then carries much noise a baseline can remove.
    # tr Cov must fall from G(τ) to G_t to G_t − b, each by a margin of 1.2×.
    logits = np.random.default_rng(5).normal(size=(4, 2))
    shifted = mdp_kwargs(small_mdp) | {"rewards": small_mdp.rewards + 1.0}
    common = {"gamma": 1.0, "batches": 300, "episodes_per_batch": 8, "env_kwargs": shifted}
    variances = [
        estimator_statistics(gradient_estimates("rlbasics/TabularMDP-v0",
                                                tabular_policy(logits), seed=6, **common,
                                                **variant), np.zeros(8)).variance
        for variant in ({"weights": "total_return"}, {}, {"baseline": "mean"})
    ]
    assert variances[0] > 1.2 * variances[1] > 1.2 * 1.2 * variances[2], variances


@pytest.mark.slow
def test_reward_to_go_and_a_baseline_reduce_variance_on_gridworld():
    # Same θ, same episodes budget: tr Cov must fall from G(τ) to G_t to G_t − b (margin 1.2×).
    logits = np.random.default_rng(5).normal(scale=0.5, size=(11, 4))
    policy = tabular_policy(logits)
    common = {"gamma": 1.0, "batches": 200, "episodes_per_batch": 8,
              "env_kwargs": {"max_episode_steps": 10_000}}
    variances = [
        estimator_statistics(gradient_estimates("rlbasics/GridWorld-v0", policy, seed=6,
                                                **common, **variant), np.zeros(44)).variance
        for variant in ({"weights": "total_return"}, {}, {"baseline": "mean"})
    ]
    assert variances[0] > 1.2 * variances[1] > 1.2 * 1.2 * variances[2], variances


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [{"weights": "total_return"}, {}, {"baseline": "mean"},
     {"baseline": "value", "state_values": np.linspace(-0.5, 0.5, 11)}],
    ids=["total-return", "reward-to-go", "mean-baseline", "value-baseline"],
)
def test_every_variant_is_unbiased_on_gridworld(variant):
    logits = np.random.default_rng(8).normal(scale=0.5, size=(11, 4))
    model = gym.make("rlbasics/GridWorld-v0").unwrapped.model()
    estimates = gradient_estimates(
        "rlbasics/GridWorld-v0", tabular_policy(logits), gamma=1.0, batches=300,
        episodes_per_batch=10, seed=9, env_kwargs={"max_episode_steps": 10_000}, **variant,
    )
    assert estimator_statistics(estimates, exact_gradient(model, logits, 1.0)).max_abs_z < Z_BOUND
