"""The rlbasics/ environments: Gymnasium's API checks, seeding, pickling, closed forms,
Monte-Carlo agreement with the exact model, and argument errors.

Monte-Carlo checks assert |mean − exact| < 5 standard errors of the mean. Under the central
limit theorem a correct environment fails one such check with probability 2(1 − Φ(5)) ≈ 6e-7
(the seeds are fixed, so a run is reproducible; the rate is over seeds).
"""

import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs import (
    BanditEnv,
    GridWorldEnv,
    MDPModel,
    ShortCorridorEnv,
    TabularMDP,
    TargetReachEnv,
    random_mdp,
)
from envs.gridworld import DOWN, RIGHT, UP

RANDOM_MODEL = random_mdp(5, 3, seed=7).model()
# Keyword arguments gym.make needs per id (only the generic TabularMDP needs any).
MAKE_KWARGS = {
    "rlbasics/TabularMDP-v0": {
        "transitions": RANDOM_MODEL.transitions,
        "rewards": RANDOM_MODEL.rewards,
        "initial": RANDOM_MODEL.initial,
        "terminal": RANDOM_MODEL.terminal,
    },
}
STOCHASTIC_IDS = ["rlbasics/TabularMDP-v0", "rlbasics/Bandit-v0", "rlbasics/GridWorld-v0"]
# TargetReach's action bound 5 is deliberate (clipping stays negligible for N(0, 1) policies,
# see its docstring), so Gymnasium's advice to normalise the Box to [-1, 1] is expected.
EXPECTED_WARNINGS = {"rlbasics/TargetReach-v0": ["we recommend using a symmetric and normalized"]}
FIVE_SIGMA = 5.0


def make(env_id, **kwargs):
    return gym.make(env_id, **{**MAKE_KWARGS.get(env_id, {}), **kwargs})


def record(env, seed, action_seed, n_steps):
    """Observations, rewards and flags of n_steps seeded random actions, resetting at ends."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    steps = [np.asarray(obs).tolist()]
    for _ in range(n_steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        steps.append((np.asarray(obs).tolist(), reward, terminated, truncated))
        if terminated or truncated:
            steps.append(np.asarray(env.reset()[0]).tolist())
    return steps


def sample(rng, cumulative):
    """One draw from a categorical distribution given its cumulative probabilities."""
    return min(int(np.searchsorted(cumulative, rng.random())), len(cumulative) - 1)


def assert_within_five_standard_errors(samples, exact):
    samples = np.asarray(samples, dtype=np.float64)
    standard_error = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(samples.mean() - exact) < FIVE_SIGMA * standard_error, (
        samples.mean(),
        exact,
        standard_error,
    )


def exact_values(model, policy, gamma):
    """V^π on the non-terminal states by the linear solve (I − γ P_π) V = r_π."""
    live = ~model.terminal
    p_pi = np.einsum("sat,sa->st", model.transitions, policy)[np.ix_(live, live)]
    r_pi = np.einsum("sa,sa->s", model.rewards, policy)[live]
    values = np.zeros(len(live))
    values[live] = np.linalg.solve(np.eye(live.sum()) - gamma * p_pi, r_pi)
    return values


# --- Gymnasium API -------------------------------------------------------------------------


def test_all_ids_are_registered_with_their_time_limits():
    limits = {env_id: gym.spec(env_id).max_episode_steps for env_id in envs.ENV_IDS}
    assert limits == {
        "rlbasics/TabularMDP-v0": 1000,
        "rlbasics/ShortCorridor-v0": 1000,
        "rlbasics/Bandit-v0": None,  # one-step episodes always terminate
        "rlbasics/GridWorld-v0": 100,
        "rlbasics/TargetReach-v0": None,
    }


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_check_env_passes_without_unexpected_warnings(env_id):
    env = make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    expected = EXPECTED_WARNINGS.get(env_id, [])
    unexpected = [
        str(w.message) for w in caught if not any(text in str(w.message) for text in expected)
    ]
    assert unexpected == []
    assert len(caught) == len(expected)  # the expected warnings do occur: the filter is live


def test_module_prefix_makes_the_env_with_its_time_limit():
    env = gym.make("envs:rlbasics/ShortCorridor-v0")
    assert isinstance(env.unwrapped, ShortCorridorEnv)
    assert env.spec.max_episode_steps == 1000


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_same_seed_same_trajectory_whatever_the_global_numpy_seed(env_id):
    # The legacy global generator on purpose: the envs must not draw from it.
    np.random.seed(1)  # noqa: NPY002
    first = record(make(env_id), seed=3, action_seed=5, n_steps=60)
    np.random.seed(2)  # noqa: NPY002 (an env drawing from it would now differ)
    second = record(make(env_id), seed=3, action_seed=5, n_steps=60)
    assert first == second


@pytest.mark.parametrize("env_id", STOCHASTIC_IDS)
def test_the_reset_seed_drives_the_randomness(env_id):
    # Same actions, different env seeds: a stochastic env must produce different outcomes.
    first = record(make(env_id), seed=3, action_seed=5, n_steps=60)
    second = record(make(env_id), seed=4, action_seed=5, n_steps=60)
    assert first != second


@pytest.mark.parametrize("wrapped", [True, False], ids=["made", "unwrapped"])
@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_pickled_env_continues_identically(env_id, wrapped):
    env = make(env_id) if wrapped else make(env_id).unwrapped
    record(env, seed=11, action_seed=0, n_steps=7)  # leave it mid-way through its history
    clone = pickle.loads(pickle.dumps(env))
    env.action_space.seed(1)
    clone.action_space.seed(1)
    for _ in range(40):
        action = env.action_space.sample()
        np.testing.assert_array_equal(clone.action_space.sample(), action)
        original_step, clone_step = env.step(action), clone.step(action)
        assert np.asarray(original_step[0]).tolist() == np.asarray(clone_step[0]).tolist()
        assert original_step[1:] == clone_step[1:]
        if original_step[2] or original_step[3]:
            assert np.asarray(env.reset()[0]).tolist() == np.asarray(clone.reset()[0]).tolist()


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_sync_vector_env_runs(env_id):
    vector_env = gym.make_vec(
        env_id, num_envs=3, vectorization_mode="sync", **MAKE_KWARGS.get(env_id, {})
    )
    observations, _ = vector_env.reset(seed=0)
    vector_env.action_space.seed(0)
    for _ in range(30):  # long enough for the one-step envs to auto-reset many times
        observations, rewards, *_ = vector_env.step(vector_env.action_space.sample())
        assert observations in vector_env.observation_space
        assert rewards.shape == (3,)
    vector_env.close()


def test_generic_tabular_mdp_needs_its_arrays():
    with pytest.raises(TypeError, match="missing 3 required positional arguments"):
        gym.make("rlbasics/TabularMDP-v0")


def test_time_limit_truncates_and_does_not_terminate():
    env = gym.make("rlbasics/ShortCorridor-v0", max_episode_steps=5)
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(5)]  # "left" in cell 0 bumps the wall forever
    assert flags == [(False, False)] * 4 + [(False, True)]


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_step_before_reset_and_after_termination_raise(env_id):
    env = make(env_id).unwrapped
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step(env.action_space.sample())
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(10_000):
        if env.step(env.action_space.sample())[2]:
            break
    with pytest.raises(RuntimeError, match="the episode has terminated"):
        env.step(env.action_space.sample())


# --- TabularMDP ----------------------------------------------------------------------------


def test_model_is_a_named_tuple_with_the_agreed_fields():
    model = RANDOM_MODEL
    assert isinstance(model, MDPModel)
    assert MDPModel._fields == ("transitions", "rewards", "initial", "terminal", "observe")
    assert model.transitions.shape == (5, 3, 5) and model.transitions.dtype == np.float64
    assert model.rewards.shape == (5, 3) and model.rewards.dtype == np.float64
    assert model.initial.shape == (5,) and model.initial.dtype == np.float64
    assert model.terminal.shape == (5,) and model.terminal.dtype == np.bool_
    assert model.observe == "state"


def test_model_rewards_are_expected_over_next_states_and_terminal_states_absorb():
    transitions = np.zeros((2, 1, 2))
    transitions[0, 0] = [0.25, 0.75]
    transitions[1, 0] = [0.5, 0.5]  # a terminal state's row is never used
    rewards = np.array([[[4.0, 8.0]], [[9.0, 9.0]]])
    env = TabularMDP(transitions, rewards, initial=[1.0, 0.0], terminal=[False, True])
    model = env.model()
    # r(0, 0) = 0.25 · 4 + 0.75 · 8 = 7; terminal states: absorbing, reward 0.
    np.testing.assert_allclose(model.rewards, [[7.0], [0.0]])
    np.testing.assert_allclose(model.transitions[1, 0], [0.0, 1.0])
    # The env pays the per-transition reward, not its expectation.
    paid = set()
    for seed in range(30):
        env.reset(seed=seed)
        paid.add(env.step(0)[1])
    assert paid == {4.0, 8.0}


def test_model_returns_copies():
    env = random_mdp(3, 2, seed=0)
    env.model().transitions[:] = 0.0
    env.model().rewards[:] = 5.0
    assert np.allclose(env.model().transitions.sum(axis=-1), 1.0)
    assert not np.any(env.model().rewards == 5.0)


def test_hidden_state_observation_is_constant_and_info_tells_the_state():
    env = random_mdp(4, 2, seed=1, observe="none")
    assert env.observation_space == gym.spaces.Discrete(1)
    obs, info = env.reset(seed=0)
    states = {info["state"]}
    for _ in range(200):
        obs_next, _, terminated, _, info = env.step(0)
        assert obs_next == 0
        states.add(info["state"])
        if terminated:
            obs, info = env.reset()
            assert obs == 0
    assert len(states) > 1  # the hidden state did move


def test_outcomes_of_probability_zero_are_never_sampled():
    # 1/3 + 1/3 + 1/3 rounds to 1 − 1e-16 in float64: u in [0, 1) must still never land on
    # the zero-probability states 1 and 3.
    transitions = np.zeros((4, 1, 4))
    transitions[:, 0] = [1 / 3, 0.0, 1 / 3 + 1 / 3, 0.0]
    env = TabularMDP(transitions, np.zeros((4, 1)), initial=[0.5, 0.0, 0.5, 0.0])
    env.reset(seed=0)
    visited = {env.step(0)[0] for _ in range(3000)}
    assert visited == {0, 2}


@pytest.mark.parametrize(
    ("factory", "gamma"),
    [
        (lambda: random_mdp(6, 3, seed=2), 0.9),
        (lambda: random_mdp(6, 3, seed=3), 1.0),  # episodic: every policy terminates
        (lambda: random_mdp(4, 2, seed=4, terminal_fraction=0.0), 0.5),  # continuing
        (GridWorldEnv, 1.0),
    ],
    ids=["random-discounted", "random-episodic", "random-continuing", "gridworld"],
)
def test_monte_carlo_return_matches_the_linear_solve(factory, gamma):
    env = factory()
    model = env.model()
    rng = np.random.default_rng(0)
    policy = rng.dirichlet(np.ones(model.rewards.shape[1]), size=model.rewards.shape[0])
    exact = model.initial @ exact_values(model, policy, gamma)
    # A continuing MDP is cut where γ^t < 1e-6: the neglected tail is < 1e-6 · max|r| / (1 − γ).
    horizon = 20 if not model.terminal.any() else 10**6
    cumulative = np.cumsum(policy, axis=1)
    env.reset(seed=0)
    returns = []
    for _ in range(1000):
        state, _ = env.reset()
        discounted_return, discount = 0.0, 1.0
        for _ in range(horizon):
            state, reward, terminated, _, _ = env.step(sample(rng, cumulative[state]))
            discounted_return += discount * reward
            discount *= gamma
            if terminated:
                break
        returns.append(discounted_return)
    assert_within_five_standard_errors(returns, exact)


def test_random_mdp_is_reproducible_and_terminates_under_every_policy():
    first, again, other = (random_mdp(8, 3, seed=s).model() for s in (5, 5, 6))
    for field in ("transitions", "rewards", "initial", "terminal"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    assert not np.allclose(first.transitions, other.transitions)
    # round(0.25 · 8) = 2 terminal states, the last two; μ0 is 0 on them.
    assert first.terminal.tolist() == [False] * 6 + [True] * 2
    assert np.all(first.initial[first.terminal] == 0)
    # Every (non-terminal s, a) reaches a terminal state with probability >= q = 0.1.
    to_terminal = first.transitions[~first.terminal][:, :, first.terminal].sum(axis=-1)
    assert np.all(to_terminal >= 0.1 - 1e-12)


def test_random_mdp_without_terminal_fraction_is_continuing():
    model = random_mdp(4, 2, seed=0, terminal_fraction=0.0).model()
    assert not model.terminal.any()


# --- ShortCorridor -------------------------------------------------------------------------


def short_corridor_value(p):
    """Sutton & Barto (2018), Example 13.1: J(p) = (2p − 4) / (p (1 − p))."""
    return (2 * p - 4) / (p * (1 - p))


@pytest.mark.parametrize("p", [0.1, 0.5, 2 - math.sqrt(2), 0.9])
def test_short_corridor_model_gives_the_closed_form(p):
    model = ShortCorridorEnv().model()
    policy = np.tile([1 - p, p], (4, 1))  # the same for every cell: they look alike
    assert model.initial @ exact_values(model, policy, 1.0) == pytest.approx(
        short_corridor_value(p), rel=1e-12
    )


def test_short_corridor_optimum():
    # p* = 2 − √2 ≈ 0.586: J = −2√2 / (3√2 − 4) ≈ −11.657, better than its neighbours.
    best = 2 - math.sqrt(2)
    assert short_corridor_value(best) == pytest.approx(-11.6569, abs=1e-4)
    assert short_corridor_value(best) > max(short_corridor_value(best + d) for d in (-0.01, 0.01))


@pytest.mark.parametrize("p", [0.3, 2 - math.sqrt(2), 0.8])
def test_short_corridor_monte_carlo_matches_the_closed_form(p):
    env = ShortCorridorEnv()  # no time limit: the closed form assumes none
    rng = np.random.default_rng(1)
    env.reset(seed=0)
    returns = []
    for _ in range(1000):
        env.reset()
        total, terminated = 0.0, False
        while not terminated:
            _, reward, terminated, _, _ = env.step(int(rng.random() < p))
            total += reward
        returns.append(total)
    assert_within_five_standard_errors(returns, short_corridor_value(p))


def test_short_corridor_with_states_revealed_is_solved_in_three_steps():
    env = ShortCorridorEnv(observe="state")
    env.reset(seed=0)
    # right, then "left" (reversed in cell 1, so it moves right), then right: cells 1, 2, goal.
    steps = [env.step(action) for action in (1, 0, 1)]
    assert [step[0] for step in steps] == [1, 2, 3]
    assert sum(step[1] for step in steps) == -3.0
    assert [step[2] for step in steps] == [False, False, True]


# --- Bandit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "policy", "exact"),
    [
        # 0.5 · 0.2 + 0.3 · 0.5 + 0.2 · 0.8 = 0.41
        ({"means": [0.2, 0.5, 0.8]}, [0.5, 0.3, 0.2], 0.41),
        # 0.2 · 1 + 0.5 · (−2) + 0.3 · 0.5 = −0.65
        (
            {"means": [1.0, -2.0, 0.5], "kind": "gaussian", "stds": [0.5, 2.0, 1.0]},
            [0.2, 0.5, 0.3],
            -0.65,
        ),
    ],
    ids=["bernoulli", "gaussian"],
)
def test_bandit_monte_carlo_expected_return(kwargs, policy, exact):
    env = BanditEnv(**kwargs)
    assert env.model().rewards[0] @ policy == pytest.approx(exact)
    actions = np.random.default_rng(2).choice(len(policy), size=5000, p=policy)
    env.reset(seed=0)
    rewards = []
    for action in actions:
        _, reward, terminated, _, _ = env.step(action)
        assert terminated
        rewards.append(reward)
        env.reset()
    assert_within_five_standard_errors(rewards, exact)


def test_gaussian_arm_has_the_requested_mean_and_spread():
    env = BanditEnv(means=[0.0, 3.0], kind="gaussian", stds=[1.0, 2.0])
    env.reset(seed=0)
    rewards = []
    for _ in range(5000):
        rewards.append(env.step(1)[1])
        env.reset()
    rewards = np.array(rewards)
    assert_within_five_standard_errors(rewards, 3.0)
    # Sample variance of n normals: standard error ≈ σ² √(2 / (n − 1)) = 4 · 0.02 = 0.08.
    assert abs(rewards.var(ddof=1) - 4.0) < FIVE_SIGMA * 4.0 * math.sqrt(2 / (rewards.size - 1))


def test_bernoulli_rewards_are_zero_or_one():
    env = BanditEnv()
    env.reset(seed=0)
    rewards = set()
    for _ in range(200):
        rewards.add(env.step(2)[1])
        env.reset()
    assert rewards == {0.0, 1.0}


# --- GridWorld -----------------------------------------------------------------------------


def test_gridworld_optimal_values_match_russell_norvig():
    # AIMA 3rd ed., Fig. 17.3: utilities of the 4×3 world, γ = 1, R = −0.04, slip 0.2.
    # Rows from the top; None is the wall, G/P the terminal cells (value 0 after entering).
    published = [
        [0.812, 0.868, 0.918, "G"],
        [0.762, None, 0.660, "P"],
        [0.705, 0.655, 0.611, 0.388],
    ]
    env = GridWorldEnv()
    model = env.model()
    values = np.zeros(len(model.initial))
    for _ in range(1000):  # value iteration; the error shrinks geometrically
        values = np.where(model.terminal, 0.0, (model.rewards + model.transitions @ values).max(1))
    for state, (row, col) in enumerate(env.cells):
        expected = published[row][col]
        if expected in ("G", "P"):
            assert model.terminal[state]
        else:
            assert values[state] == pytest.approx(expected, abs=5e-4 + 1e-9)


def test_gridworld_without_slip_moves_as_told_and_walls_block():
    env = GridWorldEnv(slip=0.0)
    state, _ = env.reset(seed=0)
    assert env.cells[state] == (2, 0)
    visited = []
    for action in (UP, UP, RIGHT, DOWN, RIGHT, RIGHT):
        state, reward, terminated, _, _ = env.step(action)
        visited.append((env.cells[state], reward, terminated))
    # up (1,0); up (0,0); right (0,1); down is the wall at (1,1): stay; right (0,2);
    # right (0,3) = goal: −0.04 + 1.
    assert visited == [
        ((1, 0), -0.04, False),
        ((0, 0), -0.04, False),
        ((0, 1), -0.04, False),
        ((0, 1), -0.04, False),
        ((0, 2), -0.04, False),
        ((0, 3), pytest.approx(0.96), True),
    ]


def test_gridworld_pit_and_ansi_render():
    env = GridWorldEnv(["SP"], slip=0.0, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "AP\n"
    _, reward, terminated, _, _ = env.step(1)
    assert (reward, terminated) == (pytest.approx(-1.04), True)
    assert env.render() == "SA\n"


# --- TargetReach ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "mean", "std"),
    [
        # −((0.3 − 1)² + 0.7²) = −0.98
        ([1.0], [0.3], [0.7]),
        # −((0 − 1)² + 1² + (−1.5 + 2)² + 0.5²) = −2.5
        ([1.0, -2.0], [0.0, -1.5], [1.0, 0.5]),
    ],
    ids=["1d", "2d"],
)
def test_target_reach_gaussian_policy_expected_return(target, mean, std):
    env = TargetReachEnv(target=target)
    exact = -sum((m - c) ** 2 + s**2 for m, c, s in zip(mean, target, std, strict=True))
    actions = np.random.default_rng(3).normal(mean, std, size=(5000, len(mean)))
    env.reset(seed=0)
    rewards = []
    for action in actions.astype(np.float32):
        rewards.append(env.step(action)[1])
        env.reset()
    assert_within_five_standard_errors(rewards, exact)


def test_target_reach_clips_actions_to_the_bounds():
    env = TargetReachEnv(target=1.0, action_bound=5.0)
    env.reset(seed=0)
    assert env.step(np.array([7.0]))[1] == -16.0  # clipped to 5: −(5 − 1)²


# --- Argument errors -----------------------------------------------------------------------

P2 = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # 2 states, 1 action, valid

# One error per two lines reads as a table: keep the formatter out.
# fmt: off
BAD_ARGUMENTS = [
    (lambda: TabularMDP(P2 * 0.9, np.zeros((2, 1)), [1, 0]), ValueError,
     r"transitions must sum to 1 over its last axis, but transitions\[0, 0, :\] sums to 0.9"),
    (lambda: TabularMDP(np.array([[[1.5, -0.5]], [[0, 1]]]), np.zeros((2, 1)), [1, 0]),
     ValueError, r"transitions must be >= 0 \(probabilities\), got min -0.5"),
    (lambda: TabularMDP(np.ones((2, 1, 3)) / 3, np.zeros((2, 1)), [1, 0]), ValueError,
     r"transitions must have shape \[S, A, S\]"),
    (lambda: TabularMDP(np.ones((2, 2)) / 2, np.zeros((2, 1)), [1, 0]), ValueError,
     r"transitions must be a non-empty array of shape \[S, A, S\], got \(2, 2\)"),
    (lambda: TabularMDP([[["a", "b"]]], np.zeros((1, 1)), [1]), TypeError,
     "transitions must be an array of real numbers"),
    (lambda: TabularMDP(P2, np.zeros((2, 2)), [1, 0]), ValueError,
     r"rewards must have shape \[S, A\] = \(2, 1\) or \[S, A, S\] = \(2, 1, 2\)"),
    (lambda: TabularMDP(P2, [[np.nan], [0.0]], [1, 0]), ValueError,
     "rewards must be finite"),
    (lambda: TabularMDP(P2, np.zeros((2, 1)), [1, 0, 0]), ValueError,
     r"initial must have shape \[S\] = \(2,\)"),
    (lambda: TabularMDP(P2, np.zeros((2, 1)), [0.5, 0.4]), ValueError,
     "initial must sum to 1"),
    (lambda: TabularMDP(P2, np.zeros((2, 1)), [0.5, 0.5], [False, True]), ValueError,
     r"initial must be 0 on terminal states .* got initial = \[0.5\] on terminal states \[1\]"),
    (lambda: TabularMDP(P2, np.zeros((2, 1)), [1, 0], [0, 1]), TypeError,
     "terminal must be a boolean array, got dtype int"),
    (lambda: TabularMDP(P2, np.zeros((2, 1)), [1, 0], [False]), ValueError,
     r"terminal must have shape \[S\] = \(2,\)"),
    (lambda: TabularMDP(P2, np.zeros((2, 1)), [1, 0], observe="pixels"), ValueError,
     r"observe must be one of \('state', 'none'\), got 'pixels'"),
    (lambda: random_mdp(0, 2, seed=0), ValueError, "n_states must be >= 1, got 0"),
    (lambda: random_mdp(3, 2.5, seed=0), TypeError, "n_actions must be an int, got float"),
    (lambda: random_mdp(3, 2, seed=0, terminal_fraction=1.0), ValueError,
     r"terminal_fraction must be in \[0, 1\), got 1.0"),
    (lambda: random_mdp(3, 2, seed=0, termination_probability=0.0), ValueError,
     r"termination_probability must be in \(0, 1\], got 0.0"),
    (lambda: random_mdp(3, 2, seed=0, reward_std="big"), TypeError,
     "reward_std must be a real number, got str"),
    (lambda: BanditEnv(kind="poisson"), ValueError,
     r"kind must be one of \('bernoulli', 'gaussian'\), got 'poisson'"),
    (lambda: BanditEnv(means=[0.5, 1.5]), ValueError,
     r"Bernoulli means must be in \[0, 1\], got \[0.5, 1.5\]"),
    (lambda: BanditEnv(means=[]), ValueError, "means must be a non-empty 1-D array"),
    (lambda: BanditEnv(stds=1.0), ValueError, "stds is only used with kind='gaussian'"),
    (lambda: BanditEnv(kind="gaussian", stds=[1.0, -1.0, 1.0]), ValueError,
     r"stds must be >= 0"),
    (lambda: BanditEnv(kind="gaussian", stds=[1.0, 2.0]), ValueError,
     r"stds must be a scalar or have shape \(3,\) \(one per arm\), got \(2,\)"),
    (lambda: GridWorldEnv("S..G"), TypeError, "layout must be a sequence of strings"),
    (lambda: GridWorldEnv(["S..", "G"]), ValueError, "layout must be non-empty rows of equal"),
    (lambda: GridWorldEnv(["S.X"]), ValueError, r"layout may contain only .* got \['X'\]"),
    (lambda: GridWorldEnv(["..G"]), ValueError, "layout must contain at least one start"),
    (lambda: GridWorldEnv(slip=1.5), ValueError, r"slip must be in \[0, 1\], got 1.5"),
    (lambda: GridWorldEnv(step_reward=float("nan")), ValueError,
     "step_reward must be finite, got nan"),
    (lambda: GridWorldEnv(render_mode="human"), ValueError,
     r"render_mode must be None or one of \['ansi'\], got 'human'"),
    (lambda: TargetReachEnv(target=6.0), ValueError,
     r"target must lie strictly inside \[-action_bound, action_bound\] = \[-5.0, 5.0\]"),
    (lambda: TargetReachEnv(target=[[1.0]]), ValueError,
     r"target must be a number or a non-empty 1-D array, got shape \(1, 1\)"),
    (lambda: TargetReachEnv(action_bound=float("inf")), ValueError,
     "action_bound must be finite"),
]
# fmt: on


@pytest.mark.parametrize(("build", "error", "match"), BAD_ARGUMENTS)
def test_bad_constructor_arguments_raise_clear_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize(
    ("env", "action", "match"),
    [
        (ShortCorridorEnv(), 2, r"action must be an integer in \[0, 2\), got 2"),
        (ShortCorridorEnv(), 0.5, r"action must be an integer in \[0, 2\), got 0.5"),
        (TargetReachEnv(), np.zeros(2), r"action must have shape \(1,\), got \(2,\)"),
        (TargetReachEnv(), np.array([np.nan]), r"action must be finite, got \[nan\]"),
    ],
)
def test_bad_actions_raise_clear_errors(env, action, match):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)
