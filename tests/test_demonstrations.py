"""Tests for agents.demonstrations against independent truth.

References: a plain Gymnasium loop (the expert's returns; replaying the recorded actions from
the same seed must reproduce the recorded observations, rewards and episode ends, which
proves the dataset holds what was executed); a plain reverse loop for returns-to-go;
binomial bounds for the corruption frequencies (stated false-failure rates).
"""

import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.demonstrations import (
    Corruption,
    Demonstrations,
    cartpole_expert,
    make_demonstrations,
)
from agents.mle import SupervisedConfig, behaviour_cloning
from rlbasics.policies import CategoricalMLPPolicy

Z_BOUND = 5.0  # two-sided P(|Z| > 5) = 5.7e-7 per checked frequency (normal approximation)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def corrupted_demos():
    # ε = 0.3 of random actions: the expert still often survives, so episodes are long.
    return make_demonstrations("CartPole-v1", cartpole_expert, episodes=3, seed=1,
                               corruption=Corruption(0.3, "random"), gamma=0.9)


def test_expert_reaches_500_on_20_seeded_episodes():
    # A plain loop, independent of rlbasics.rollout: 20 seeds, every episode must reach
    # CartPole-v1's time limit of 500 steps (return 500). Measured over 200 seeds: all 500.
    env = gym.make("CartPole-v1")
    returns = []
    for seed in range(20):
        observation, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            action = int(cartpole_expert(observation[None])[0])
            observation, reward, terminated, truncated, _ = env.step(action)
            total, done = total + reward, terminated or truncated
        returns.append(total)
    assert returns == [500.0] * 20


def test_expert_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"CartPole observations \[N, 4\], got shape \(4,\)"):
        cartpole_expert(np.zeros(4))


def replay(demos):
    """Step a fresh env with the recorded actions, resetting as ``collect`` does: the first
    episode with the seed, later ones continuing the env's random stream."""
    env = gym.make(demos.env_id)
    observations, rewards, ends = [], [], []
    for episode in range(demos.n_episodes):
        observation, _ = env.reset(seed=demos.seed if episode == 0 else None)
        for action in demos.actions[demos.episode_ids == episode]:
            observations.append(observation)
            observation, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            ends.append(terminated or truncated)
    return np.array(observations), np.array(rewards), np.array(ends)


def test_the_dataset_holds_what_was_executed(corrupted_demos):
    demos = corrupted_demos
    observations, rewards, ends = replay(demos)
    np.testing.assert_array_equal(observations, demos.observations)
    np.testing.assert_array_equal(rewards, demos.rewards)
    last_steps = np.r_[np.diff(demos.episode_ids) == 1, True]
    np.testing.assert_array_equal(ends, last_steps)  # each episode ends where it is cut
    # Steps not corrupted carry the expert's own action.
    clean = ~demos.corrupted
    np.testing.assert_array_equal(demos.actions[clean], cartpole_expert(demos.observations[clean]))


def test_returns_to_go_and_episode_returns_match_a_plain_loop(corrupted_demos):
    demos = corrupted_demos
    assert demos.gamma == 0.9
    expected = np.zeros(len(demos))
    for episode in range(demos.n_episodes):
        steps = np.flatnonzero(demos.episode_ids == episode)
        future = 0.0
        for t in steps[::-1]:  # G_t = r_t + γ G_{t+1}, nothing after the episode's last step
            future = demos.rewards[t] + 0.9 * future
            expected[t] = future
        assert demos.episode_returns[episode] == demos.rewards[steps].sum()
        assert demos.episode_lengths[episode] == len(steps)
    np.testing.assert_allclose(demos.returns_to_go, expected, rtol=1e-12)


def binomial_bound(count, n, p):
    """|count − n p| ≤ Z·sqrt(n p (1 − p)), normal approximation to Binomial(n, p)."""
    return abs(count - n * p) <= Z_BOUND * math.sqrt(n * p * (1 - p))


def test_random_corruption_replaces_a_fraction_epsilon_uniformly(corrupted_demos):
    demos = corrupted_demos
    n = len(demos)
    assert n > 300  # enough steps for the normal approximation
    assert binomial_bound(demos.corrupted.sum(), n, 0.3), (demos.corrupted.sum(), n)
    # The replacements are uniform over {0, 1} and independent of the expert's choice, so
    # half of them push the other way than the expert would have (P = 1/2 each).
    replacements = demos.actions[demos.corrupted]
    assert binomial_bound(replacements.sum(), len(replacements), 0.5)
    overruled = replacements != cartpole_expert(demos.observations[demos.corrupted])
    assert binomial_bound(overruled.sum(), len(replacements), 0.5)
    assert demos.corruption == Corruption(0.3, "random")


def test_always_left_corruption_pushes_left_and_costs_return():
    demos = make_demonstrations("CartPole-v1", cartpole_expert, episodes=20, seed=2,
                                corruption=Corruption(0.5, "constant", action=0))
    assert binomial_bound(demos.corrupted.sum(), len(demos), 0.5)
    assert np.all(demos.actions[demos.corrupted] == 0)
    # Half the steps pushed left: the expert no longer balances for 500 steps.
    assert demos.episode_returns.mean() < 500


def test_no_or_zero_corruption_marks_nothing():
    for corruption in (None, Corruption(0.0)):
        demos = make_demonstrations("CartPole-v1", cartpole_expert, episodes=1, seed=3,
                                    corruption=corruption)
        assert not demos.corrupted.any()
        np.testing.assert_array_equal(demos.actions, cartpole_expert(demos.observations))


def test_same_seed_same_dataset_other_seed_other_dataset(corrupted_demos):
    again = make_demonstrations("CartPole-v1", cartpole_expert, episodes=3, seed=1,
                                corruption=Corruption(0.3, "random"), gamma=0.9)
    for name in ("observations", "actions", "rewards", "corrupted", "episode_ids"):
        np.testing.assert_array_equal(getattr(again, name), getattr(corrupted_demos, name))
    other = make_demonstrations("CartPole-v1", cartpole_expert, episodes=1, seed=4,
                                corruption=Corruption(0.3, "random"))
    assert not np.array_equal(other.observations[0], corrupted_demos.observations[0])


def test_a_rlbasics_policy_demonstrates_its_greedy_action():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        policy = CategoricalMLPPolicy(4, 2, hidden_sizes=(8,))
    demos = make_demonstrations("CartPole-v1", policy, episodes=2, seed=5)
    assert demos.policy == "CategoricalMLPPolicy"
    np.testing.assert_array_equal(demos.actions, policy.deterministic(demos.observations).numpy())


def test_behaviour_cloning_learns_the_linear_expert():
    # The expert is a linear rule, so a linear (logistic) policy can represent it. The expert
    # chatters along its own decision boundary θ + 0.5·θ̇ = 0 (about half of its states lie
    # within 0.01 of it), where any slightly tilted boundary disagrees; away from it, a
    # clone of two episodes must agree with the expert (a clone that learned nothing: ~50%).
    demos = make_demonstrations("CartPole-v1", cartpole_expert, episodes=2, seed=6)
    config = SupervisedConfig(lr=1.0, epochs=100, batch_size=1000, validation_fraction=0)
    policy, _ = behaviour_cloning(demos.observations, demos.actions, demos.observation_space,
                                  demos.action_space, config=config)
    margin = np.abs(demos.observations[:, 2] + 0.5 * demos.observations[:, 3])
    clear = margin > 0.01
    assert clear.mean() > 0.3
    predictions = policy.deterministic(demos.observations[clear]).numpy()
    assert (predictions == demos.actions[clear]).mean() >= 0.99


# --- save / load ----------------------------------------------------------------------------


def test_save_load_round_trip_is_exact(corrupted_demos, tmp_path):
    path = corrupted_demos.save(tmp_path / "demos.npz")
    loaded = Demonstrations.load(path, env_id="CartPole-v1")
    for name in ("observations", "actions", "rewards", "returns_to_go", "episode_ids",
                 "episode_returns", "corrupted"):
        original, copy = getattr(corrupted_demos, name), getattr(loaded, name)
        assert copy.dtype == original.dtype and np.array_equal(copy, original), name
    assert loaded.metadata == corrupted_demos.metadata
    assert loaded.observation_space == gym.make("CartPole-v1").observation_space
    assert loaded.corruption == Corruption(0.3, "random") and loaded.gamma == 0.9
    assert repr(loaded) == repr(corrupted_demos)
    assert [p.name for p in tmp_path.iterdir()] == ["demos.npz"]  # no temporary file left


@pytest.fixture
def saved(corrupted_demos, tmp_path):
    """(path of a valid file, its arrays and metadata as a dict to tamper with, a writer)."""
    path = corrupted_demos.save(tmp_path / "good.npz")
    with np.load(path) as npz:
        contents = {name: npz[name] for name in npz.files}

    def write(**changes):
        target = tmp_path / "bad.npz"
        np.savez(target, **{**contents, **changes})
        return target

    return path, contents, write


def with_metadata(contents, **changes):
    metadata = json.loads(str(contents["metadata"]))
    metadata.update(changes)
    return np.array(json.dumps(metadata))


def test_loading_refuses_another_envs_dataset(saved):
    path, _, _ = saved
    with pytest.raises(ValueError, match=r"for 'CartPole-v1', not for 'Acrobot-v1'"):
        Demonstrations.load(path, env_id="Acrobot-v1")


def test_loading_garbage_or_truncated_files_is_a_clear_error(saved, tmp_path):
    path, _, _ = saved
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not an npz file at all")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for bad in (garbage, truncated):
        with pytest.raises(ValueError, match="is not a readable demonstrations file"):
            Demonstrations.load(bad)
    with pytest.raises(FileNotFoundError):
        Demonstrations.load(tmp_path / "missing.npz")


def test_loading_never_unpickles(saved, tmp_path):
    _, _, write = saved
    marker = tmp_path / "unpickled"

    class Payload:  # unpickling it would create the marker file
        def __reduce__(self):
            return (open, (str(marker), "w"))

    malicious = write(rewards=np.array([Payload()], dtype=object))
    with pytest.raises(ValueError, match=r"not a readable demonstrations file.*allow_pickle"):
        Demonstrations.load(malicious)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda c: {"observations": c["observations"].astype(np.float64)},
         "observations must have dtype float32, got float64"),
        (lambda c: {"actions": c["actions"][:-1]}, r"actions must have shape \(\d+,\), got"),
        (lambda c: {"actions": np.where(c["actions"] == 1, 2, c["actions"])},
         r"actions\[\d+\] = 2 is outside Discrete\(2\)"),
        (lambda c: {"episode_returns": c["episode_returns"] + 1.0},
         r"episode_returns\[0\] = \S+ is not the sum of that episode's rewards"),
        (lambda c: {"returns_to_go": c["returns_to_go"][::-1].copy()},
         "returns_to_go are not the rewards' returns-to-go"),
        (lambda c: {"episode_ids": c["episode_ids"][::-1].copy()}, "episode_ids must count"),
        (lambda c: {"metadata": np.array("{not json")}, "invalid demonstrations"),
        (lambda c: {"metadata": with_metadata(c, format="something else")}, "metadata format"),
        (lambda c: {"metadata": with_metadata(c, version=2)}, "format version 2 is not 1"),
        (lambda c: {"metadata": with_metadata(c, extra=1)}, "metadata keys must be"),
        (lambda c: {"metadata": with_metadata(c, action_space={"type": "Tuple"})},
         "action_space must describe a Discrete or Box space"),
        (lambda c: {"metadata": with_metadata(c, observation_space={"type": "Box"})},
         "observation_space is not a valid space description"),
        (lambda c: {"metadata": with_metadata(c, corruption=None)},
         "corrupted marks steps, but the corruption is None"),
        (lambda c: {"metadata": with_metadata(c, seed=-1)}, "seed must be an integer >= 0"),
        (lambda c: {"metadata": with_metadata(c, gamma=True)},  # JSON true: not a number
         r"gamma must be in \[0, 1\], got True"),
        (lambda c: {"metadata": with_metadata(c, corruption={"fraction": 2})},
         r"corruption fraction must be in \[0, 1\], got 2"),
    ],
)
def test_loading_mismatched_contents_is_a_clear_error(saved, tamper, message):
    _, contents, write = saved
    with pytest.raises(ValueError, match=message):
        Demonstrations.load(write(**tamper(contents)))


def test_loading_a_file_with_missing_arrays_is_a_clear_error(saved, tmp_path):
    _, contents, _ = saved
    target = tmp_path / "partial.npz"
    np.savez(target, **{k: v for k, v in contents.items() if k != "corrupted"})
    with pytest.raises(ValueError, match="must hold the arrays"):
        Demonstrations.load(target)


# --- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"episodes": 0}, ValueError, "episodes must be an integer >= 1, got 0"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0, got -1"),
        ({"gamma": 1.5}, ValueError, r"gamma must be in \[0, 1\], got 1.5"),
        ({"gamma": True}, ValueError, r"gamma must be in \[0, 1\], got True"),
        ({"policy": "expert"}, TypeError, "policy must be callable or a rlbasics Policy"),
        ({"corruption": 0.1}, TypeError, "corruption must be a Corruption or None"),
        ({"corruption": Corruption(0.1, "constant", action=5)}, ValueError,
         r"constant corruption needs an action of the Discrete action space, got action 5"),
    ],
)
def test_make_demonstrations_rejects_bad_arguments(kwargs, error, message):
    arguments = {"env_id": "CartPole-v1", "policy": cartpole_expert, "episodes": 1, "seed": 0}
    with pytest.raises(error, match=message):
        make_demonstrations(**{**arguments, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fraction": 1.5}, r"corruption fraction must be in \[0, 1\], got 1.5"),
        ({"fraction": "0.1"}, "corruption fraction must be a number"),
        ({"fraction": 0.1, "behaviour": "always-right"},
         "behaviour must be 'random' or 'constant'"),
        ({"fraction": 0.1, "action": 0.5}, "corruption action must be an integer, got 0.5"),
    ],
)
def test_corruption_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Corruption(**kwargs)
