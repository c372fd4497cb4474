"""The batch side of rlbasics.rollout: checks, copies and per-batch derivations.

The collector checks actions and env outputs once per batch and derives the episode totals
from the batch's flags; these tests hold each against independent truth: a per-env plain
loop for the totals, hand-placed offences for the checks (the reported step, env and field
are the ones planted), and reference loops that copy every array for envs and policies that
reuse theirs.
"""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from test_rollout import (
    Walk,
    make_walk,
    reference,
    sync_walks,
    walk_policy,
)

from rlbasics._rollout_batch import episode_totals
from rlbasics.rollout import Collector, collect

# ------------------------------------------------------------------ episode totals


def totals_loop(rewards, real, ended, valid, carried_return, carried_length):
    """Per env, walk the steps: add r and count the real steps; at an end, report the total
    (if the end is valid) and restart. Reports are ordered by step, then env."""
    steps, n = ended.shape
    running_return, running_length = list(carried_return), list(carried_length)
    reports = []
    for env in range(n):
        for step in range(steps):
            running_return[env] += rewards[step, env]
            running_length[env] += int(real[step, env])
            if ended[step, env]:
                if valid[step, env]:
                    reports.append((step, env, running_return[env], running_length[env]))
                running_return[env], running_length[env] = 0.0, 0
    reports.sort()
    return ([r for _, _, r, _ in reports], [n for _, _, _, n in reports], running_return,
            running_length)


@pytest.mark.parametrize("seed", range(5))
def test_episode_totals_match_a_plain_loop(seed):
    """Random flags with NEXT_STEP reset slots (not real: the step after an end), a random
    selection of valid ends and carried totals; integer rewards, so sums are exact."""
    rng = np.random.default_rng(seed)
    steps, n = rng.integers(1, 12), rng.integers(1, 6)
    ended = rng.random((steps, n)) < 0.3
    real = np.ones_like(ended)
    real[0] = rng.random(n) < 0.5
    real[1:] = ~ended[:-1]
    rewards = np.where(real, rng.integers(-3, 4, (steps, n)).astype(float), 0.0)
    valid = real & (rng.random((steps, n)) < 0.8)
    carried_return = rng.integers(0, 5, n).astype(float)
    carried_length = rng.integers(0, 5, n)
    expected = totals_loop(rewards, real, ended, valid, carried_return, carried_length)
    returns, lengths = episode_totals(rewards, real, ended, valid, carried_return, carried_length)
    np.testing.assert_array_equal(returns, expected[0])
    np.testing.assert_array_equal(lengths, expected[1])
    np.testing.assert_array_equal(carried_return, expected[2])  # updated in place
    np.testing.assert_array_equal(carried_length, expected[3])


def test_single_env_episode_totals_across_batches():
    """A single env (reset by the collector): batches of 3, 4 and 5 steps report the
    episodes of the plain loop, each counted from its reset; an episodes request discards
    the episode in progress (its start was in an earlier batch)."""
    seed = 3
    collector = Collector(make_walk(), walk_policy, seed=seed)
    batches = [collector.collect(steps=3), collector.collect(steps=4), collector.collect(steps=5)]
    ends, total, length = [], 0.0, 0
    for step in reference(make_walk(), walk_policy, seed, 12):
        total, length = total + step[2], length + 1
        if step[3] or step[4]:
            ends.append((total, length))
            total, length = 0.0, 0
    got = [(r, n) for b in batches for r, n in zip(b.episode_returns, b.episode_lengths,
                                                     strict=True)]
    assert got == ends and len(ends) >= 3
    rollout = collector.collect(episodes=2, as_rollout=True)
    assert [e.observations[0, 1] for e in rollout.episodes()] == [0, 0]  # both from a reset
    assert rollout.episode_lengths.tolist() == [len(e) for e in rollout.episodes()]


# ------------------------------------------------------------------ arrays reused by their owner


class InPlaceWalk(Walk):
    """Walk that writes every observation into one array and returns that same array."""

    def reset(self, *, seed=None, options=None):
        observation, info = super().reset(seed=seed)
        self.buffer = observation
        return self.buffer, info

    def step(self, action):
        observation, *rest = super().step(action)
        self.buffer[:] = observation
        return (self.buffer, *rest)


def reusing_box_policy():
    """A Box-action policy that writes its actions into one array and returns it."""
    out = np.zeros((1, 1), np.float32)

    def policy(observations):
        out[0, 0] = observations[0, 0] / 10.0
        return out

    return policy


def test_envs_and_policies_that_reuse_their_arrays_are_recorded_correctly():
    """The collector copies what it keeps: an env returning one mutated observation array,
    a vector env returning its own buffer (``copy=False``) and a policy returning one
    mutated action array give the transitions of a plain loop that copies everything."""
    make = lambda: gym.wrappers.TimeLimit(InPlaceWalk(), max_episode_steps=4)  # noqa: E731
    rollout = collect(make(), walk_policy, steps=12, seed=0)
    expected = reference(make_walk(), walk_policy, 0, 12)
    np.testing.assert_array_equal(rollout.observations[0], np.stack([s[0] for s in expected]))
    np.testing.assert_array_equal(rollout.next_observations[0], np.stack([s[5] for s in expected]))
    env = gym.vector.SyncVectorEnv([make_walk] * 2, copy=False)
    rollout = collect(env, walk_policy, steps=10, seed=0)
    for i in range(2):
        valid = rollout.valid[i]
        theirs = reference(make_walk(), walk_policy, i, int(valid.sum()))
        np.testing.assert_array_equal(rollout.observations[i, valid], [s[0] for s in theirs])
    pendulum = gym.make("Pendulum-v1")
    rollout = collect(pendulum, reusing_box_policy(), steps=6, seed=0)
    expected = rollout.observations[0, :, 0] / np.float32(10.0)
    np.testing.assert_array_equal(rollout.actions[0, :, 0], expected)


class WideActions(gym.Env):
    """Discrete(1000) actions; the observation is the last action, so nothing is lost."""

    observation_space = gym.spaces.Box(0.0, 1000.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(1000)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.array([action], np.float32), 0.0, False, False, {}


def test_a_policy_changing_its_action_dtype_is_recorded_exactly():
    """uint8 actions at the first step, then int64 actions too large for uint8: the recorded
    actions are promoted (never wrapped around to 300 mod 256 = 44)."""
    def uint8_then_int64():
        calls = []

        def policy(observations):
            calls.append(1)
            dtype, value = (np.uint8, 7) if len(calls) == 1 else (np.int64, 300)
            return np.full(len(observations), value, dtype)

        return policy

    for env in (WideActions(), gym.vector.SyncVectorEnv([WideActions] * 2)):
        rollout = collect(env, uint8_then_int64(), steps=3, seed=0)
        assert rollout.actions.dtype == np.int64
        assert (rollout.actions == [7, 300, 300]).all()


# ------------------------------------------------------------------ bad input


class BrokenReset(Walk):
    """Walk whose second reset returns ``broken`` (default: an infinite observation)."""

    def __init__(self, broken=None):
        super().__init__()
        self.resets = 0
        self.broken = np.array([0.0, np.inf], np.float32) if broken is None else broken

    def reset(self, *, seed=None, options=None):
        observation, info = super().reset(seed=seed)
        self.resets += 1
        return (self.broken if self.resets == 2 else observation), info


@pytest.mark.parametrize("field", ["reward", "observation"])
def test_non_finite_env_output_stops_collection(field):
    env = gym.vector.SyncVectorEnv(
        [make_walk, lambda: make_walk(broken_field=field, broken_clock=2)]
    )
    with pytest.raises(ValueError, match=f"env 1 returned a non-finite {field} at step 1"):
        collect(env, walk_policy, steps=10, seed=0)
    with pytest.raises(ValueError, match=f"env 0 returned a non-finite {field} at step 1"):
        # the single env with env 1's seed (0 + 1) breaks at the same step
        collect(make_walk(broken_field=field, broken_clock=2), walk_policy, steps=10, seed=1)


def test_a_non_finite_reset_observation_names_the_reset():
    """The collector's own resets (single env; DISABLED vector env): "reset after step t",
    t the step that ended the episode (Walk from seed 0 ends first after step 3)."""
    first_end = next(i for i, s in enumerate(reference(make_walk(), walk_policy, 0, 20))
                     if s[3] or s[4])
    make = lambda: gym.wrappers.TimeLimit(BrokenReset(), max_episode_steps=4)  # noqa: E731
    message = f"env 0 returned a non-finite observation at reset after step {first_end}"
    with pytest.raises(ValueError, match=message):
        collect(make(), walk_policy, steps=20, seed=0)
    env = gym.vector.SyncVectorEnv([make], autoreset_mode=AutoresetMode.DISABLED)
    with pytest.raises(ValueError, match=message):
        collect(env, walk_policy, steps=20, seed=0)


def test_a_reset_observation_of_another_shape_names_the_reset():
    first_end = next(i for i, s in enumerate(reference(make_walk(), walk_policy, 0, 20))
                     if s[3] or s[4])
    env = gym.wrappers.TimeLimit(BrokenReset(np.zeros(3, np.float32)), max_episode_steps=4)
    with pytest.raises(ValueError, match=f"observation of 3 elements at the reset after step "
                                         f"{first_end}, expected shape"):
        collect(env, walk_policy, steps=20, seed=0)


def test_an_env_error_on_a_bad_action_becomes_the_collectors_error():
    """CartPole asserts its actions are valid: the collector checks the batch so far and
    raises its own error, naming step and env, from the env's."""
    def bad_at_step_2():
        calls = []

        def policy(observations):
            calls.append(1)
            actions = np.zeros(len(observations), np.int64)
            if len(calls) == 3:
                actions[-1] = 5
            return actions

        return policy

    single = gym.make("CartPole-v1")
    vector = gym.make_vec("CartPole-v1", 3, vectorization_mode="vector_entry_point")
    for env, last_env in ((single, 0), (vector, 2)):
        with pytest.raises(ValueError, match=rf"policy action 5 at step 2, env {last_env} is "
                                             r"outside the action space Discrete\(2\)") as caught:
            collect(env, bad_at_step_2(), steps=8, seed=0)
        assert isinstance(caught.value.__cause__, AssertionError)


def test_a_policy_error_on_a_non_finite_observation_names_the_observation():
    def strict_policy(observations):
        if not np.isfinite(observations).all():
            raise RuntimeError("the policy got NaN")
        return walk_policy(observations)

    env = gym.vector.SyncVectorEnv(
        [make_walk, lambda: make_walk(broken_field="observation", broken_clock=2)]
    )
    with pytest.raises(ValueError, match="env 1 returned a non-finite observation at step 1"
                       ) as caught:
        collect(env, strict_policy, steps=10, seed=0)
    assert isinstance(caught.value.__cause__, RuntimeError)


@pytest.mark.parametrize(("bad_action_step", "expected"), [
    (0, r"policy action 2 at step 0, env 1"),
    (3, r"env 1 returned a non-finite reward at step 1"),
])
def test_the_earliest_offence_is_reported(bad_action_step, expected):
    """A NaN reward at step 1 (Walk broken at clock 2) and an action outside Discrete(2) at
    ``bad_action_step``: whichever happened first is the error."""
    calls = []

    def policy(observations):
        calls.append(1)
        actions = walk_policy(observations)
        if len(calls) == bad_action_step + 1:
            actions[1] = 2
        return actions

    env = gym.vector.SyncVectorEnv(
        [make_walk, lambda: make_walk(broken_field="reward", broken_clock=2)]
    )
    with pytest.raises(ValueError, match=expected):
        collect(env, policy, steps=6, seed=0)


def test_actions_outside_the_action_space_are_refused():
    def off_by_one(observations):
        actions = walk_policy(observations)
        actions[-1] = 2 if len(observations) > 1 else 0  # Discrete(2) holds 0 and 1
        return actions

    with pytest.raises(
        ValueError,
        match=r"policy action 2 at step 0, env 2 is outside the action space Discrete\(2\)",
    ):
        collect(sync_walks(3), off_by_one, steps=5, seed=0)
    with pytest.raises(
        TypeError, match=r"policy returned float64 actions at step 0; .* needs integer actions"
    ):
        collect(sync_walks(2), lambda obs: np.zeros(len(obs)), steps=5, seed=0)
    pendulum = gym.make("Pendulum-v1")
    with pytest.raises(
        ValueError, match=r"at step 0, env 0 is outside the action space Box\(-2.0, 2.0"
    ):
        collect(pendulum, lambda obs: np.full((len(obs), 1), 2.5, np.float32), steps=3, seed=0)
    with pytest.raises(ValueError, match="outside the action space"):
        collect(pendulum, lambda obs: np.full((len(obs), 1), np.nan, np.float32), steps=3, seed=0)
def test_wrong_batch_size_and_malformed_policy_output_are_refused():
    with pytest.raises(
        ValueError, match=r"policy returned actions of shape \(2,\) at step 0, expected \(3,\)"
    ):
        collect(sync_walks(3), lambda obs: np.zeros(2, np.int64), steps=5, seed=0)
    with pytest.raises(ValueError, match=r"expected \(1,\)"):
        collect(make_walk(), lambda obs: np.int64(0), steps=5, seed=0)
    with pytest.raises(
        TypeError, match="must return a numpy array or torch tensor of actions, got list"
    ):
        collect(make_walk(), lambda obs: [0], steps=5, seed=0)
    with pytest.raises(ValueError, match=r"log_probs of shape \(2, 1\), expected \(2,\)"):
        collect(sync_walks(2), lambda obs: (walk_policy(obs), torch.zeros(2, 1)), steps=5, seed=0)
    with pytest.raises(TypeError, match=r"a tuple \(actions, log_probs\) with log_probs a torch"):
        collect(sync_walks(2), lambda obs: (walk_policy(obs), np.zeros(2)), steps=5, seed=0)
    calls = []

    def sometimes_log_probs(observations):  # log-probs from the second call on
        calls.append(1)
        actions = walk_policy(observations)
        return (actions, torch.zeros(len(actions))) if len(calls) > 1 else actions

    with pytest.raises(TypeError, match="policy returned log_probs at step 1 but not before"):
        collect(sync_walks(2), sometimes_log_probs, steps=5, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(), "give exactly one of steps and episodes, got steps=None, episodes=None"),
        (dict(steps=3, episodes=2), "give exactly one of steps and episodes"),
        (dict(steps=0), "steps must be None or an int >= 1, got 0"),
        (dict(steps=2.5), "steps must be None or an int >= 1, got 2.5"),
        (dict(episodes=True), "episodes must be None or an int >= 1, got True"),
        (dict(episodes=-1), "episodes must be None or an int >= 1, got -1"),
    ],
)
def test_bad_steps_or_episodes_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        collect(make_walk(), walk_policy, **kwargs)


def test_bad_constructor_arguments():
    with pytest.raises(
        TypeError, match=r"env must be a gymnasium\.Env or gymnasium\.vector\.VectorEnv, got str"
    ):
        Collector("CartPole-v1", walk_policy)
    with pytest.raises(TypeError, match="policy must be callable, got int"):
        Collector(make_walk(), 3)
    with pytest.raises(ValueError, match=r"seed must be None or an int >= 0, got -1"):
        Collector(make_walk(), walk_policy, seed=-1)
    tuple_env = make_walk()
    tuple_env.unwrapped.observation_space = gym.spaces.Tuple([Walk.action_space])
    with pytest.raises(
        TypeError, match="the observation space must be Box, Discrete, MultiDiscrete or MultiBinary"
    ):
        Collector(tuple_env, walk_policy)


class Changeling(Walk):
    """Walk whose ``field`` becomes ``value`` at its step ``at`` (counted from 0 across
    episodes)."""

    def __init__(self, field, value, at=1, **walk):
        super().__init__(**walk)
        self.field, self.value, self.at, self.steps = field, value, at, 0

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        self.steps += 1
        if self.steps - 1 == self.at:
            if self.field == "reward":
                reward = self.value
            else:
                observation = self.value
        return observation, reward, terminated, truncated, info


@pytest.mark.parametrize(("field", "value", "error", "match"), [
    ("reward", None, TypeError, "reward that is not a real number at step 1: None"),
    ("reward", "1.0", TypeError, "reward that is not a real number at step 1: '1.0'"),
    ("observation", np.zeros(3, np.float32), ValueError,
     r"observation of 3 elements at step 1, expected shape \(2,\)"),
    ("observation", np.zeros((1, 2), np.float64), ValueError,
     r"observation of shape \(1, 2\) at step 1, expected shape \(2,\)"),
    ("observation", np.array([0.5, 1.5]), None, None),  # float64: cast to float32
    ("observation", [0.5, 1.5], None, None),  # a list: made an array
    ("observation", np.array([1, 2], np.int64), None, None),
    ("observation", np.array([1.5, 2.5], np.complex64), TypeError,
     "complex64 observation at step 1; the first observation was float32"),
])
def test_a_single_env_changing_its_output_types(field, value, error, match):
    """A single env's s_t is recorded as bytes of s_0's dtype: another dtype is cast if it
    safely can be, another shape is refused, and so is a reward that is not a number."""
    env = Changeling(field, value)
    if error is None:
        rollout = collect(env, walk_policy, steps=3, seed=0)
        np.testing.assert_array_equal(rollout.next_observations[0, 1],
                                      np.asarray(value, np.float32))
        assert rollout.observations.dtype == np.float32
    else:
        with pytest.raises(error, match=match):
            collect(env, walk_policy, steps=3, seed=0)


def test_an_error_after_a_step_was_half_recorded_reports_the_earlier_offence():
    """A NaN observation at step 1 (Walk broken at clock 2, seed 1), then a complex
    observation at step 3, refused after its action and reward were recorded: the error is
    the NaN, the earlier offence among the complete steps, raised from the refusal."""
    env = Changeling("observation", np.array([1.5, 2.5], np.complex64), at=3,
                     broken_field="observation", broken_clock=2)
    def policy(observations):  # not troubled by the NaN
        return walk_policy(np.where(np.isfinite(observations), observations, 0.0))

    with pytest.raises(ValueError, match="non-finite observation at step 1") as caught:
        collect(env, policy, steps=8, seed=1)
    assert isinstance(caught.value.__cause__, TypeError)


class HugeRewards(Walk):
    def step(self, action):
        observation, _, terminated, truncated, info = super().step(action)
        return observation, 1e308, terminated, truncated, info


def test_huge_finite_rewards_are_not_taken_for_non_finite_ones():
    """Σ r overflows to inf (a single env's totals are its finiteness test): the batch is
    kept, with no overflow warning from the checks (a warning is an error in these tests;
    a vector env's totals are numpy sums, which do warn that they overflowed)."""
    make = lambda: gym.wrappers.TimeLimit(HugeRewards(), max_episode_steps=4)  # noqa: E731
    single = collect(make(), walk_policy, steps=8, seed=0)
    with np.errstate(over="ignore"):
        vector = collect(gym.vector.SyncVectorEnv([make] * 2), walk_policy, steps=8, seed=0)
    for rollout in (single, vector):
        assert (rollout.rewards[rollout.valid] == 1e308).all()
        assert np.isinf(rollout.episode_returns).any()  # an episode of several steps


@pytest.mark.parametrize("make_env", [
    make_walk, lambda: sync_walks(3), lambda: sync_walks(2, AutoresetMode.SAME_STEP),
    lambda: gym.make_vec("CartPole-v1", 4, vectorization_mode="vector_entry_point"),
])
def test_collected_rollouts_pass_the_validation_they_skip(make_env):
    """`Rollout._assembled` skips construction's validation; every Rollout the collector
    builds (batches of steps, of episodes, after a steps batch) passes it when constructed
    again."""
    collector = Collector(make_env(), walk_policy, seed=0)
    batches = [collector.collect(steps=7), collector.collect(episodes=3, as_rollout=True),
               collector.collect(steps=1)]
    for rollout in batches:
        dataclasses.replace(rollout)  # constructs a Rollout of the same fields, validated
