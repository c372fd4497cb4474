"""The REINFORCE agent: its weights Ψ, its config, learning, reproducibility, resume, files."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the rlbasics/ envs)
from agents.reinforce import (
    Reinforce,
    ReinforceConfig,
    evaluate,
    load_policy,
    policy_gradient_weights,
    save_policy,
    train,
)


def weights_loop(rewards, ends, gamma, weights, discount_weighting):
    """Plain-loop reference for Ψ without baselines: one row, episodes split at ``ends``."""
    psi, start = [], 0
    for stop in [i for i, end in enumerate(ends) if end] + [len(rewards) - 1]:
        if stop < start:
            continue
        episode = rewards[start:stop + 1]
        for k in range(len(episode)):
            to_go = sum(gamma**j * r for j, r in enumerate(episode[k:]))
            total = sum(gamma**j * r for j, r in enumerate(episode))
            value = total if weights == "total_return" else to_go
            psi.append(value * (gamma**k if discount_weighting else 1.0))
        start = stop + 1
    return np.array(psi)


@pytest.mark.parametrize("weights", ["total_return", "reward_to_go"])
@pytest.mark.parametrize("discount_weighting", [False, True])
def test_weights_match_a_plain_loop(weights, discount_weighting):
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(1, 12))
    terminated = np.zeros((1, 12), bool)
    terminated[0, [3, 7, 11]] = True
    psi, _, ids = policy_gradient_weights(
        rewards, terminated, np.zeros_like(terminated), np.ones_like(terminated), gamma=0.9,
        weights=weights, discount_weighting=discount_weighting,
    )
    expected = weights_loop(rewards[0], terminated[0], 0.9, weights, discount_weighting)
    np.testing.assert_allclose(psi[0], expected, rtol=1e-12)
    assert ids.tolist() == [[0] * 4 + [1] * 4 + [2] * 4]


def test_mean_baseline_is_leave_one_out():
    # Episodes [1, 1] and [3]: with G_t = Σ r (γ = 1), Ψ = G − mean of the *other* episode's G.
    rewards = np.array([[1.0, 1.0, 3.0]])
    terminated = np.array([[False, True, True]])
    psi, _, _ = policy_gradient_weights(rewards, terminated, np.zeros_like(terminated),
                                        np.ones_like(terminated), gamma=1.0, baseline="mean")
    # episode 0: G = [2, 1], other mean = 3 → [−1, −2]; episode 1: G = 3, other mean 1.5 → 1.5
    np.testing.assert_allclose(psi, [[-1.0, -2.0, 1.5]])


def test_discount_weighting_counts_steps_from_the_episode_start_across_batches():
    rewards = np.ones((1, 3))
    terminated = np.array([[False, True, False]])
    psi, _, _ = policy_gradient_weights(
        rewards, terminated, np.zeros_like(terminated), np.ones_like(terminated), gamma=0.5,
        discount_weighting=True, steps_before=np.array([2]),
    )
    # Steps 0–1 continue an episode 2 steps old: γ^2·G_0 = 0.25·1.5, γ^3·G_1 = 0.125·1;
    # step 2 starts a new episode: γ^0·1 (unfinished, bootstrap 0).
    np.testing.assert_allclose(psi, [[0.375, 0.125, 1.0]])


def test_normalising_a_single_step_gives_zero_not_nan():
    psi, _, _ = policy_gradient_weights(np.array([[5.0]]), np.array([[True]]),
                                        np.array([[False]]), np.array([[True]]), gamma=0.99,
                                        normalize=True)
    assert psi.tolist() == [[0.0]]


def test_steps_into_episode_match_a_plain_walk():
    """The γ^t step counter carried across batches (``discount_weighting``): per row, walk the
    valid steps, counting up and restarting after each end; random flags, 20 batches."""
    from types import SimpleNamespace

    learner = Reinforce(ReinforceConfig(num_envs=3, eval_every=0))
    rng = np.random.default_rng(0)
    expected = [0, 0, 0]
    for _ in range(20):
        terminated, truncated = rng.random((3, 5)) < 0.2, rng.random((3, 5)) < 0.1
        valid = rng.random((3, 5)) < 0.8
        learner._count_episode_steps(SimpleNamespace(
            terminated=terminated, truncated=truncated, valid=valid, num_steps=5))
        for row in range(3):
            for step in np.flatnonzero(valid[row]):
                ended = terminated[row, step] or truncated[row, step]
                expected[row] = 0 if ended else expected[row] + 1
        assert learner.steps_into_episode.tolist() == expected


def test_one_update_on_one_one_step_episode_stays_finite():
    learner = Reinforce(ReinforceConfig(env_id="rlbasics/Bandit-v0", num_envs=1,
                                        steps_per_update=1, eval_every=0))
    row = learner.update()
    assert all(math.isfinite(row[key]) for key in ("loss", "grad_norm"))
    assert all(torch.isfinite(p).all() for p in learner.policy.parameters())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gamma", 1.5, r"gamma must be a number in \[0, 1\], got 1.5"),
        ("gamma", math.nan, "gamma must be a number in"),
        ("lr", 0.0, "lr must be a finite number > 0, got 0.0"),
        ("num_envs", 0, "num_envs must be an int >= 1, got 0"),
        ("seed", -1, "seed must be an int >= 0, got -1"),
        ("num_envs", True, "num_envs must be an int >= 1, got True"),
        # Python's own numbers only: the config is written to config.toml
        ("seed", np.int64(3), r"seed must be an int >= 0, got np.int64\(3\)"),
        ("gamma", np.float32(0.9), r"gamma must be a number in \[0, 1\], got np.float32"),
        ("weights", "returns", "weights must be 'total_return' or 'reward_to_go'"),
        ("baseline", "median", "baseline must be 'none', 'mean' or 'value'"),
        ("hidden_sizes", (32, 0), "hidden_sizes must be a tuple of ints >= 1"),
        ("entropy_coef", -0.1, "entropy_coef must be a finite number >= 0"),
        ("max_grad_norm", 0.0, r"max_grad_norm must be a number > 0 \(inf: no clipping\)"),
        ("normalize_advantages", 1, "normalize_advantages must be True or False"),
    ],
)
def test_bad_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        ReinforceConfig(**{field: value})


def test_total_return_needs_whole_episodes():
    with pytest.raises(ValueError, match="weights='total_return' needs whole episodes"):
        ReinforceConfig(weights="total_return")


def test_same_seed_gives_identical_histories():
    config = ReinforceConfig(total_steps=4096, eval_every=2, eval_episodes=4, seed=5)
    first, second = train(config), train(config)
    for key in ("loss", "grad_norm", "mean_return", "eval_mean", "env_steps"):
        np.testing.assert_array_equal(first.history[key], second.history[key])
    assert first.episodes["return"] == second.episodes["return"]


@pytest.mark.parametrize("split", [1, 4])
def test_a_resumed_learner_is_identical_to_an_uninterrupted_one(split):
    config = ReinforceConfig(total_steps=6 * 1024, eval_every=0, baseline="value", seed=3)
    uninterrupted = train(config)
    snapshots = {}
    learner = Reinforce(config)
    train(config, learner=learner,
          on_update=lambda row: snapshots.setdefault(row["update"], learner.state_dict()))
    resumed = Reinforce(config)
    resumed.load_state_dict(snapshots[split])
    result = train(config, learner=resumed)
    for a, b in zip(uninterrupted.policy.parameters(), result.policy.parameters(), strict=True):
        assert torch.equal(a, b)
    assert uninterrupted.episodes["return"][-len(result.episodes["return"]):] == \
        result.episodes["return"]
    assert uninterrupted.history["loss"][split:] == result.history["loss"]


def test_a_snapshot_for_other_spaces_is_refused_before_anything_is_copied():
    cartpole = Reinforce(ReinforceConfig(eval_every=0))
    acrobot = Reinforce(ReinforceConfig(env_id="Acrobot-v1", eval_every=0))
    before = [p.clone() for p in acrobot.policy.parameters()]
    with pytest.raises(ValueError, match="does not fit this env's spaces"):
        acrobot.load_state_dict(cartpole.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(before, acrobot.policy.parameters(),
                                                  strict=True))


def test_value_baseline_gets_no_gradient_from_the_policy_loss():
    learner = Reinforce(ReinforceConfig(baseline="value", eval_every=0, value_steps=1))
    seen = {}

    def record_step(*args, **kwargs):  # the value optimiser's step sees only the MSE gradient
        seen["grads"] = [p.grad.clone() for p in learner.value_function.parameters()]

    learner.value_optimizer.step = record_step
    learner.update()
    batch = learner.last_batch
    observations = torch.as_tensor(batch.observations[batch.valid])
    returns = policy_gradient_weights(batch.rewards, batch.terminated, batch.truncated,
                                      batch.valid, gamma=0.99,
                                      bootstrap=learner._values(batch.next_observations))[1]
    targets = torch.as_tensor(returns[batch.valid], dtype=torch.float32)
    fit = torch.nn.functional.mse_loss(learner.value_function(observations), targets)
    expected = torch.autograd.grad(fit, list(learner.value_function.parameters()))
    for got, want in zip(seen["grads"], expected, strict=True):
        torch.testing.assert_close(got, want)


def test_bandit_converges_to_the_best_arm():
    config = ReinforceConfig(env_id="rlbasics/Bandit-v0", num_envs=32, steps_per_update=1,
                             total_steps=32 * 150, lr=0.05, eval_every=0)
    policy = train(config).policy
    probabilities = torch.softmax(policy.logits.detach()[0], dim=-1)
    assert probabilities.argmax().item() == 2 and probabilities[2] > 0.9  # μ = 0.2, 0.5, 0.8


def test_target_reach_learns_the_target():
    config = ReinforceConfig(env_id="rlbasics/TargetReach-v0", num_envs=32, steps_per_update=1,
                             total_steps=32 * 400, lr=0.02, eval_every=0, anneal_lr=True)
    policy = train(config).policy
    mean = policy.deterministic(np.zeros((1, 1), np.float32)).item()
    assert abs(mean - 1.0) < 0.05  # TargetReach-v0's default target is 1.0


def test_the_logged_learning_rate_is_the_one_each_step_used():
    # 4 updates of 8 x 4 = 32 steps out of 128: annealing scales lr by 1 - steps_done / 128.
    config = ReinforceConfig(num_envs=8, steps_per_update=4, total_steps=128, lr=0.01,
                             eval_every=0, anneal_lr=True)
    rates = train(config).history["lr"]
    np.testing.assert_allclose(rates, [0.01, 0.0075, 0.005, 0.0025], rtol=1e-12)
    constant = train(dataclasses.replace(config, anneal_lr=False)).history["lr"]
    np.testing.assert_array_equal(constant, [0.01] * 4)


@pytest.mark.slow
def test_short_corridor_finds_the_stochastic_optimum():
    config = ReinforceConfig(env_id="rlbasics/ShortCorridor-v0", num_envs=32,
                             episodes_per_update=64, gamma=1.0, baseline="mean", lr=0.03,
                             anneal_lr=True, total_steps=200_000, eval_every=0)
    policy = train(config).policy
    p_right = torch.softmax(policy.logits.detach()[0], dim=-1)[1].item()
    # Sutton & Barto Example 13.1; seeds 0–3 of this config ended within 0.010–0.020.
    assert abs(p_right - (2 - math.sqrt(2))) < 0.03


@pytest.mark.parametrize("seed", [0, 1])
def test_cartpole_is_solved(seed):
    result = train(ReinforceConfig(seed=seed, total_steps=300_000))
    assert result.solved_at is not None
    assert result.history["eval_mean"][result.solved_at] >= 475


def test_save_and_load_policy_round_trip(tmp_path):
    config = ReinforceConfig(total_steps=1024, eval_every=0)
    policy = train(config).policy
    path = save_policy(tmp_path / "policy.pt", policy, config)
    loaded, loaded_config = load_policy(path)
    assert loaded_config == config
    observations = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    assert torch.equal(policy.deterministic(observations), loaded.deterministic(observations))
    assert np.array_equal(evaluate(policy, "CartPole-v1", 3, seed=1),
                          evaluate(loaded, "CartPole-v1", 3, seed=1))


def test_load_policy_refuses_garbage(tmp_path):
    path = tmp_path / "policy.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot load a policy from"):
        load_policy(path)
