"""Tests for rlbasics.policies against independent truth.

References: ``torch.distributions`` (Categorical, Normal) for log-probabilities and
entropies; closed-form score functions for gradients; binomial / normal sampling bounds for
frequencies. Statistical checks use a fixed seed (deterministic on one machine); the stated
false-failure rate is the chance that a correct sampler fails for a random seed.
"""

import contextlib
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlbasics.policies import (
    CategoricalMLPPolicy,
    GaussianMLPPolicy,
    Policy,
    TabularSoftmaxPolicy,
    ValueMLP,
    make_policy,
)

N_SAMPLES = 20_000
Z_BOUND = 5.0  # two-sided P(|Z| > 5) = 5.7e-7 per checked statistic (normal approximation)


def close(actual, expected, rtol=1e-6, atol=1e-6):
    # torch.testing.assert_close would import torch.distributed (≈1.5 s) on first use.
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = (actual - expected).abs().max() if actual.numel() else 0.0
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max |error| = {error}"


def random_tabular(seed=0, n_states=3, n_actions=4):
    policy = TabularSoftmaxPolicy(n_states, n_actions)
    with torch.no_grad():
        policy.logits.copy_(2.0 * torch.randn(n_states, n_actions, generator=gen(seed)))
    return policy


def random_gaussian(seed=0, obs_dim=3, action_dim=2, **kwargs):
    torch.manual_seed(seed)
    policy = GaussianMLPPolicy(obs_dim, action_dim, hidden_sizes=(16,), **kwargs)
    with torch.no_grad():
        for parameter in policy.net.parameters():
            parameter.normal_(0.0, 1.0, generator=gen(seed + 1))
        policy.log_std.copy_(torch.linspace(-1.0, 0.5, action_dim))
    return policy


def gen(seed):
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def torch_distributions_forbidden():
    """Fail if the code under test builds any torch.distributions object: the reference
    must stay independent of the implementation."""

    def refuse(*args, **kwargs):
        raise AssertionError("rlbasics.policies must not use torch.distributions")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.distributions.Distribution, "__init__", refuse)
        yield


# --- agreement with torch.distributions -------------------------------------------------------


def test_categorical_log_prob_and_entropy_match_torch_distributions():
    tabular = random_tabular()
    states = torch.randint(0, 3, (200,), generator=gen(1))
    torch.manual_seed(0)
    network = CategoricalMLPPolicy(5, 4, hidden_sizes=(32,))
    observations = 3.0 * torch.randn(200, 5, generator=gen(2))
    actions = torch.randint(0, 4, (200,), generator=gen(3))
    cases = [
        (tabular, states, tabular.logits.detach()[states]),
        (network, observations, network.net(observations).detach()),
    ]
    with torch_distributions_forbidden():
        computed = [
            (p.log_prob(obs, actions), p.entropy(obs), p.sample(obs, gen(4)))
            for p, obs, _ in cases
        ]
    for (_, _, logits), (log_prob, entropy, (sampled, sampled_log_prob)) in zip(
        cases, computed, strict=True
    ):
        reference = torch.distributions.Categorical(logits=logits)
        close(log_prob, reference.log_prob(actions))
        close(entropy, reference.entropy())
        close(sampled_log_prob, reference.log_prob(sampled))


def test_gaussian_log_prob_and_entropy_match_torch_distributions():
    policy = random_gaussian()
    observations = torch.randn(200, 3, generator=gen(1))
    actions = 2.0 * torch.randn(200, 2, generator=gen(2))
    with torch_distributions_forbidden():
        log_prob = policy.log_prob(observations, actions)
        entropy = policy.entropy(observations)
        sampled, sampled_log_prob = policy.sample(observations, gen(3))
    reference = torch.distributions.Normal(
        policy.net(observations).detach(), policy.log_std.detach().exp()
    )
    close(log_prob, reference.log_prob(actions).sum(-1))
    close(entropy, reference.entropy().sum(-1))
    close(sampled_log_prob, reference.log_prob(sampled).sum(-1))


def test_gaussian_log_std_is_clamped_to_its_bounds():
    policy = random_gaussian(action_dim=3)
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-9.0, 0.3, 7.0]))  # below, inside, above [-5, 2]
    observations = torch.randn(10, 3, generator=gen(1))
    actions = torch.randn(10, 3, generator=gen(2))
    reference = torch.distributions.Normal(
        policy.net(observations).detach(), torch.tensor([-5.0, 0.3, 2.0]).exp()
    )
    log_prob = policy.log_prob(observations, actions)
    close(log_prob, reference.log_prob(actions).sum(-1), rtol=1e-5, atol=0)
    close(policy.entropy(observations), reference.entropy().sum(-1))
    log_prob.sum().backward()
    # The clamp passes no gradient outside the bounds: only the middle coordinate moves.
    assert policy.log_std.grad[0] == 0 and policy.log_std.grad[2] == 0
    assert policy.log_std.grad[1] != 0


# --- sampling ---------------------------------------------------------------------------------


def assert_frequencies_match(actions, probabilities):
    """Per-cell binomial z-scores |count − n p| / sqrt(n p (1 − p)) below Z_BOUND."""
    n = len(actions)
    counts = torch.bincount(actions, minlength=len(probabilities)).double()
    z = (counts - n * probabilities) / torch.sqrt(n * probabilities * (1 - probabilities))
    assert z.abs().max() < Z_BOUND, (counts / n, probabilities, z)


def test_tabular_sample_frequencies_match_probabilities():
    # 3 states × 4 actions = 12 cells at 5 standard errors: false-failure rate ≤ 12 × 5.7e-7.
    policy = TabularSoftmaxPolicy(3, 4)
    with torch.no_grad():
        policy.logits.copy_(torch.tensor([[0.0, 1.0, 2.0, -1.0], [3.0, 0.0, 0.0, 0.0], [0.0] * 4]))
    generator = gen(123)
    for state in range(3):
        actions, _ = policy.sample(np.full(N_SAMPLES, state), generator)
        assert_frequencies_match(actions, torch.softmax(policy.logits[state].double(), -1))


def test_categorical_mlp_sample_frequencies_match_probabilities():
    # 5 cells at 5 standard errors: false-failure rate ≤ 5 × 5.7e-7 ≈ 3e-6.
    torch.manual_seed(0)
    policy = CategoricalMLPPolicy(2, 5, hidden_sizes=(8,))
    with torch.no_grad():
        policy.net[-1].bias.copy_(torch.tensor([1.0, 0.0, -1.0, 0.5, 2.0]))
    observation = np.array([[0.3, -0.7]], dtype=np.float32)
    actions, _ = policy.sample(np.repeat(observation, N_SAMPLES, axis=0), gen(7))
    probabilities = torch.softmax(policy.action_logits(observation)[0].double(), -1)
    assert_frequencies_match(actions, probabilities.detach())


def test_gaussian_sample_mean_and_std_match_mu_and_sigma():
    # Per dimension: |mean − μ| < 5 σ/√n and |std − σ| < 5 σ/√(2n) (the sample std's standard
    # error for normal data); 2 dims × 2 statistics: false-failure rate ≤ 4 × 5.7e-7.
    policy = random_gaussian(action_dim=2)
    observation = torch.tensor([[0.5, -1.0, 2.0]])
    actions, _ = policy.sample(observation.expand(N_SAMPLES, 3), gen(11))
    mean, log_std = policy.mean_and_log_std(observation)
    mu, sigma = mean[0].detach().double(), log_std.detach().exp().double()
    n = N_SAMPLES
    assert ((actions.double().mean(0) - mu).abs() < Z_BOUND * sigma / math.sqrt(n)).all()
    assert ((actions.double().std(0) - sigma).abs() < Z_BOUND * sigma / math.sqrt(2 * n)).all()


@pytest.mark.parametrize(
    "make", [random_tabular, lambda: CategoricalMLPPolicy(3, 4), random_gaussian]
)
def test_same_generator_seed_gives_same_samples(make):
    policy = make()
    observations = np.arange(60) % 3 if isinstance(policy, TabularSoftmaxPolicy) else (
        np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    )
    first, first_log_prob = policy.sample(observations, gen(5))
    second, second_log_prob = policy.sample(observations, gen(5))
    other, _ = policy.sample(observations, gen(6))
    assert torch.equal(first, second) and torch.equal(first_log_prob, second_log_prob)
    # Two seeds agree on one draw with probability Σ_a π(a|s)² ≤ 0.75 here (tabular rows 0.75,
    # 0.56, 0.41; near-uniform MLP 0.25; Gaussian 0): all 60 agree with probability < 1e-7.
    assert not torch.equal(first, other)
    torch.manual_seed(3)
    global_first, _ = policy(observations)  # forward = sample; generator=None: global RNG
    torch.manual_seed(3)
    assert torch.equal(global_first, policy(observations)[0])


@pytest.mark.parametrize(
    "make", [random_tabular, lambda: CategoricalMLPPolicy(3, 4), random_gaussian]
)
def test_act_draws_what_sample_draws_without_log_probs(make):
    """act consumes the generator as sample does (the same actions from the same state, so a
    rollout with act and an update with log_prob see what sample would give) and keeps no
    graph."""
    policy = make()
    observations = np.arange(40) % 3 if isinstance(policy, TabularSoftmaxPolicy) else (
        np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)
    )
    generator_a, generator_b = gen(9), gen(9)
    for _ in range(3):  # and the generators stay in step
        sampled, _ = policy.sample(observations, generator_a)
        acted = policy.act(observations, generator_b)
        assert torch.equal(sampled, acted) and not acted.requires_grad
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        policy.act(observations, 3)


# --- gradients --------------------------------------------------------------------------------


def test_tabular_log_prob_gradient_is_the_softmax_score():
    # ∂ log π(a|s) / ∂θ[s', b] = 1[s' = s] (1[b = a] − π(b|s)).
    policy = random_tabular()
    states, actions = torch.tensor([0, 2, 2, 1]), torch.tensor([3, 0, 1, 1])
    policy.log_prob(states, actions).sum().backward()
    probabilities = torch.softmax(policy.logits.detach(), -1)
    expected = torch.zeros(3, 4)
    for s, a in zip(states.tolist(), actions.tolist(), strict=True):
        expected[s] -= probabilities[s]
        expected[s, a] += 1.0
    close(policy.logits.grad, expected)


def test_gaussian_log_prob_gradient_is_the_gaussian_score():
    # μ = W s + b (no hidden layer): ∂/∂b log N(a; μ, σ²) = (a − μ)/σ²,
    # ∂/∂log σ = ((a − μ)/σ)² − 1.
    policy = GaussianMLPPolicy(2, 2, hidden_sizes=(), log_std_init=-0.5)
    observations = torch.randn(6, 2, generator=gen(0))
    actions = torch.randn(6, 2, generator=gen(1))
    policy.log_prob(observations, actions).sum().backward()
    mean = policy.net(observations).detach()
    sigma = math.exp(-0.5)
    close(policy.net[-1].bias.grad, ((actions - mean) / sigma**2).sum(0))
    close(policy.log_std.grad, (((actions - mean) / sigma) ** 2 - 1).sum(0))


def test_policy_loss_reaches_every_policy_parameter_and_no_value_parameter():
    torch.manual_seed(0)
    policy, value = CategoricalMLPPolicy(4, 2), ValueMLP(4)
    observations = torch.randn(16, 4, generator=gen(0))
    _, log_probs = policy.sample(observations, gen(1))
    advantages = torch.randn(16, generator=gen(2)) - value(observations).detach()
    (-(log_probs * advantages).mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.parameters())
    assert all(p.grad is None for p in value.parameters())
    value(observations).square().mean().backward()
    assert all(p.grad is not None for p in value.parameters())


def test_deterministic_is_argmax_or_mean_without_gradient():
    tabular = TabularSoftmaxPolicy(2, 3)  # θ = 0: all tied → lowest index
    assert tabular.deterministic([0, 1]).tolist() == [0, 0]
    with torch.no_grad():
        tabular.logits[1, 2] = 1.0
    assert tabular.deterministic([0, 1]).tolist() == [0, 2]
    gaussian = random_gaussian()
    observations = torch.randn(4, 3, generator=gen(0))
    greedy = gaussian.deterministic(observations)
    assert not greedy.requires_grad
    close(greedy, gaussian.net(observations).detach())


# --- Gaussian clipping ------------------------------------------------------------------------


def test_to_env_clips_while_log_prob_uses_the_unclipped_action():
    env = gym.make("Pendulum-v1")
    policy = make_policy(env.observation_space, env.action_space)
    with torch.no_grad():
        policy.log_std.fill_(2.0)  # σ = 7.4 ≫ the bound 2: most draws fall outside [-2, 2]
    observations = np.zeros((500, 3), dtype=np.float32)
    actions, log_probs = policy.sample(observations, gen(0))
    env_actions = policy.to_env(actions)
    assert (actions.abs() > 2).float().mean() > 0.5
    assert env_actions.dtype == np.float32
    np.testing.assert_array_equal(env_actions, np.clip(actions.numpy(), -2.0, 2.0))
    assert all(env.action_space.contains(a) for a in env_actions)
    close(log_probs, policy.log_prob(observations, actions))
    clipped_log_probs = policy.log_prob(observations, env_actions)
    assert not torch.allclose(log_probs, clipped_log_probs)


def test_sampled_actions_step_a_vector_env():
    env = gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="vector_entry_point")
    policy = make_policy(env.single_observation_space, env.single_action_space)
    observations, _ = env.reset(seed=0)
    actions, log_probs = policy.sample(observations, gen(0))
    assert actions.dtype == torch.int64 and log_probs.shape == (8,) and log_probs.requires_grad
    env.step(policy.to_env(actions))
    env.close()


def test_numpy_and_torch_observations_give_the_same_results():
    policy = random_gaussian()
    observations = np.random.default_rng(0).normal(size=(7, 3))  # float64: cast to float32
    from_numpy = policy.sample(observations, gen(0))
    from_torch = policy.sample(torch.as_tensor(observations, dtype=torch.float32), gen(0))
    assert all(torch.equal(a, b) for a, b in zip(from_numpy, from_torch, strict=True))


def test_empty_batch_gives_empty_results():
    for policy, observations in [
        (TabularSoftmaxPolicy(2, 2), np.zeros(0, dtype=np.int64)),
        (CategoricalMLPPolicy(3, 2), np.zeros((0, 3), dtype=np.float32)),
        (random_gaussian(), np.zeros((0, 3), dtype=np.float32)),
    ]:
        actions, log_probs = policy.sample(observations)
        assert len(actions) == 0 and log_probs.shape == (0,)
        assert policy.log_prob(observations, actions).shape == (0,)
        assert policy.entropy(observations).shape == (0,)


# --- construction and init --------------------------------------------------------------------


def test_initial_policies_are_near_uniform_or_uniform():
    # MLP init itself is tested in test_networks.py; here: the policies' output gains.
    torch.manual_seed(0)
    for net in [CategoricalMLPPolicy(4, 2).net, GaussianMLPPolicy(4, 2).net]:
        out = net[-1].weight.detach()  # rows orthogonal with norm = gain 0.01
        close(out @ out.T, 1e-4 * torch.eye(2), rtol=1e-5)
        assert not net[-1].bias.any()
    assert (TabularSoftmaxPolicy(2, 3).logits == 0).all()  # uniform


def test_policy_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        Policy()


# --- make_policy ------------------------------------------------------------------------------


def test_make_policy_for_cartpole_pendulum_and_discrete_spaces():
    cartpole, pendulum = gym.make("CartPole-v1"), gym.make("Pendulum-v1")
    policy = make_policy(cartpole.observation_space, cartpole.action_space, hidden_sizes=(32,))
    assert isinstance(policy, CategoricalMLPPolicy)
    assert (policy.obs_dim, policy.n_actions, policy.net[0].out_features) == (4, 2, 32)
    policy = make_policy(pendulum.observation_space, pendulum.action_space, activation="relu")
    assert isinstance(policy, GaussianMLPPolicy) and isinstance(policy.net[1], torch.nn.ReLU)
    assert (policy.obs_dim, policy.action_dim) == (3, 1)
    assert policy.action_low.tolist() == [-2.0] and policy.action_high.tolist() == [2.0]
    policy = make_policy(spaces.Discrete(5), spaces.Discrete(3))
    assert isinstance(policy, TabularSoftmaxPolicy) and policy.logits.shape == (5, 3)
    hidden_state = make_policy(spaces.Discrete(1), spaces.Discrete(2))  # one shared row
    assert hidden_state.logits.shape == (1, 2) and hidden_state.sample([0, 0])[0].shape == (2,)
    reach = make_policy(spaces.Discrete(1), spaces.Box(-1.0, 1.0, (2,)))
    assert isinstance(reach, GaussianMLPPolicy) and reach.one_hot
    assert reach.sample([0, 0, 0])[0].shape == (3, 2)


@pytest.mark.parametrize(
    ("observation_space", "action_space", "unsupported"),
    [
        (spaces.Box(-1, 1, (4,)), spaces.MultiDiscrete([2, 2]), "action_space MultiDiscrete"),
        (spaces.Box(-1, 1, (4,)), spaces.Box(-1, 1, (2, 2)), "action_space Box"),
        (spaces.Box(0, 255, (8, 8, 3)), spaces.Discrete(2), "observation_space Box"),
        (spaces.Dict({"x": spaces.Discrete(2)}), spaces.Discrete(2), "observation_space Dict"),
        (spaces.Discrete(3, start=1), spaces.Discrete(2), "observation_space Discrete"),
        (spaces.Discrete(3), spaces.Discrete(2, start=-1), "action_space Discrete"),
        (spaces.Box(-1, 1, (8, 4)), spaces.MultiDiscrete([2] * 8), "action_space MultiDiscrete"),
    ],
)
def test_make_policy_refuses_unsupported_spaces(observation_space, action_space, unsupported):
    kind = unsupported.split("_")[0]  # the message lists what is supported for that space
    supported = rf"supported: {kind} spaces Discrete\(n\) \(start=0\) or 1-D Box"
    with pytest.raises(TypeError, match=f"unsupported {unsupported}.*; {supported}"):
        make_policy(observation_space, action_space)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("observations", [np.zeros((5, 3)), np.zeros(4), np.zeros((2, 4, 1))])
def test_box_observations_with_the_wrong_shape(observations):
    with pytest.raises(ValueError, match=r"observations must have shape \[B, 4\].*got shape"):
        CategoricalMLPPolicy(4, 2).sample(observations)


def test_bad_state_indices():
    policy = TabularSoftmaxPolicy(3, 2)
    with pytest.raises(ValueError, match=r"must be integers in \[0, 3\), got .*\[0, 3\]"):
        policy.sample([0, 3])
    with pytest.raises(ValueError, match=r"observations must be integers in \[0, 3\).*\[-1, 1\]"):
        policy.entropy([1, -1])
    with pytest.raises(TypeError, match=r"observations must be integer indices.*float"):
        policy.sample(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"state indices of shape \[B\].*\(2, 1\)"):
        policy.sample([[0], [1]])


def test_categorical_log_prob_refuses_bad_actions():
    policy = CategoricalMLPPolicy(4, 2)
    observations = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 2\), got .*\[0, 2\]"):
        policy.log_prob(observations, [0, 1, 2])
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 2\).*\[-1, 1\]"):
        policy.log_prob(observations, [-1, 1, 0])
    with pytest.raises(TypeError, match=r"actions must be integer indices.*float"):
        policy.log_prob(observations, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"actions must have shape \[B\] = \(3,\).*\(2,\)"):
        policy.log_prob(observations, [0, 1])


def test_gaussian_log_prob_refuses_bad_actions():
    policy = GaussianMLPPolicy(3, 2)
    observations = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"actions must have shape \[B, action_dim\] = \(2, 2\)"):
        policy.log_prob(observations, np.zeros(2))
    with pytest.raises(ValueError, match="actions must be finite"):
        policy.log_prob(observations, np.array([[0.0, np.nan], [0.0, 0.0]]))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TabularSoftmaxPolicy(0, 2), "n_states must be a positive integer, got 0"),
        (lambda: TabularSoftmaxPolicy(2, 1.5), "n_actions must be a positive integer, got 1.5"),
        (lambda: CategoricalMLPPolicy(0, 2), "obs_dim must be a positive integer, got 0"),
        (lambda: GaussianMLPPolicy(3, 0), "action_dim must be a positive integer, got 0"),
        (lambda: GaussianMLPPolicy(3, 1, log_std_bounds=(2, -5)), "log_std_bounds must be"),
        (lambda: GaussianMLPPolicy(3, 1, log_std_bounds=(-np.inf, 2)), "log_std_bounds must be"),
        (lambda: GaussianMLPPolicy(3, 1, log_std_bounds=(-5, 0, 2)), "log_std_bounds must be"),
        (lambda: GaussianMLPPolicy(3, 1, log_std_init=3.0), r"log_std_init must be in .*-5.0, 2.0"),
        (lambda: GaussianMLPPolicy(3, 2, action_low=[0, 0, 0]), "action_low must be a number or 2"),
        (lambda: GaussianMLPPolicy(3, 1, action_high=np.nan), "action_high must be a number or 1"),
        (lambda: GaussianMLPPolicy(3, 1, action_low=1, action_high=0), "action_low must be <="),
    ],
)
def test_bad_constructor_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_generator_must_be_a_torch_generator():
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator or None"):
        TabularSoftmaxPolicy(2, 2).sample([0], np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator or None"):
        GaussianMLPPolicy(3, 1).sample(np.zeros((1, 3)), 0)
