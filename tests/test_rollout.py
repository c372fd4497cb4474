"""rlbasics.rollout against a plain step-by-step loop over one gymnasium.Env (the reference).

The reference knows nothing of vector envs, buffers or auto-reset: it resets the env with a seed,
then steps and resets it by hand. Every vector env (sync, async, native; NEXT_STEP, SAME_STEP,
DISABLED auto-reset) must give, row by row, exactly the transitions the reference gives for
sub-env i's seed (seed + i).
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from rlbasics.rollout import Collector, collect, random_policy

LIMIT = 4  # Walk's time limit (TimeLimit wrapper)


class Walk(gym.Env):
    """A walk on the integers: start at a seeded position in {−2, …, 2}; action 1 moves +1,
    action 0 moves −1; the reward is the new position; terminated when |position| reaches 3.

    Observation [position, clock] (clock = steps since reset), so a transition's s_t and s_{t+1}
    show where it came from. Info {"position": new position} (reset: {"start": position}).
    """

    observation_space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, broken_field=None, broken_clock=None):
        self.broken_field, self.broken_clock = broken_field, broken_clock

    def _observation(self):
        return np.array([self.position, self.clock], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position, self.clock = int(self.np_random.integers(-2, 3)), 0
        return self._observation(), {"start": self.position}

    def step(self, action):
        self.position += 1 if action == 1 else -1
        self.clock += 1
        observation, reward = self._observation(), float(self.position)
        if self.clock == self.broken_clock:  # a faulty env, for the error tests
            if self.broken_field == "reward":
                reward = float("nan")
            else:
                observation[0] = np.inf
        terminated = abs(self.position) >= 3
        return observation, reward, terminated, False, {"position": self.position}


def make_walk(**kwargs):
    return gym.wrappers.TimeLimit(Walk(**kwargs), max_episode_steps=LIMIT)


def walk_policy(observations):
    """Deterministic: move up at even positions + clock, down otherwise (both ends happen)."""
    return ((observations[:, 0] + observations[:, 1]) % 2 == 0).astype(np.int64)


def balancing_policy(observations):
    """CartPole: push toward the pole's lean (keeps it up for dozens of steps)."""
    return (observations[:, 2] + 0.5 * observations[:, 3] > 0).astype(np.int64)


def falling_policy(observations):
    """CartPole: push the cart further off centre (the pole falls in ~10 steps)."""
    return (observations[:, 0] > 0).astype(np.int64)


def reference(env, policy, seed, transitions=None, episodes=None):
    """A plain loop over one env: its first ``transitions`` transitions, or those of its first
    ``episodes`` episodes, as a list of (s_t, a_t, r_t, terminated, truncated, s_{t+1}, info),
    resetting by hand after each end."""
    observation, _ = env.reset(seed=seed)
    out, ended = [], 0
    while len(out) != transitions and ended != episodes:
        action = policy(np.asarray(observation)[None])[0]
        next_observation, reward, terminated, truncated, info = env.step(action)
        out.append((observation, action, reward, terminated, truncated, next_observation, info))
        observation = next_observation
        if terminated or truncated:
            observation, ended = env.reset()[0], ended + 1
    return out


def reference_episodes(env, policy, seed, episodes):
    """The first ``episodes`` episodes of one env, each a list of transitions (plain loop)."""
    steps, out = reference(env, policy, seed, episodes=episodes), [[]]
    for step in steps:
        out[-1].append(step)
        if step[3] or step[4]:
            out.append([])
    return out[:-1]


def assert_same_episode(episode, transitions):
    """A Trajectory equals a list of reference transitions, field by field."""
    assert len(episode) == len(transitions)
    observations, actions, rewards, terminated, truncated, next_observations, _ = zip(
        *transitions, strict=True
    )
    np.testing.assert_array_equal(episode.observations[:-1], np.stack(observations))
    np.testing.assert_array_equal(episode.observations[-1], next_observations[-1])
    np.testing.assert_array_equal(episode.actions, np.stack(actions))
    np.testing.assert_array_equal(episode.rewards, np.array(rewards))
    assert (episode.terminated, episode.truncated) == (terminated[-1], truncated[-1])
    assert not any(terminated[:-1]) and not any(truncated[:-1])


def assert_rows_match_reference(rollout, make_env, policy, seed):
    """Row i's valid slots are the first transitions of the reference for seed + i."""
    for env in range(rollout.num_envs):
        valid = rollout.valid[env]
        expected = reference(make_env(), policy, seed + env, int(valid.sum()))
        got = zip(
            rollout.observations[env, valid],
            rollout.actions[env, valid],
            rollout.rewards[env, valid],
            rollout.terminated[env, valid],
            rollout.truncated[env, valid],
            rollout.next_observations[env, valid],
            strict=True,
        )
        for slot, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
            for name, a, b in zip(
                ("s", "a", "r", "term", "trunc", "s'"), mine, theirs[:6], strict=True
            ):
                np.testing.assert_array_equal(a, b, err_msg=f"env {env}, transition {slot}: {name}")


def sync_walks(n, mode=AutoresetMode.NEXT_STEP, **kwargs):
    return gym.vector.SyncVectorEnv([lambda: make_walk(**kwargs)] * n, autoreset_mode=mode)


MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


# ------------------------------------------------------------------ single env, TimeLimit


def test_time_limit_is_truncation_not_termination():
    """CartPole-v1 balanced for LIMIT = 10 steps: the pole never falls (the balancing policy
    keeps |θ| < 0.05 rad, far below the 0.21 rad limit), so every episode is cut by the time
    limit: truncated, never terminated."""
    env = gym.make("CartPole-v1", max_episode_steps=10)
    episodes = collect(env, balancing_policy, episodes=3, seed=0)
    for episode in episodes:
        assert (len(episode), episode.truncated, episode.terminated) == (10, True, False)
        assert np.abs(episode.observations[:, 2]).max() < 0.05
    rollout = collect(env, balancing_policy, steps=25, seed=0)
    truncated_at = np.flatnonzero(rollout.truncated[0])
    np.testing.assert_array_equal(truncated_at, [9, 19])  # steps 10 and 20, zero-indexed
    assert not rollout.terminated.any()


def test_walk_termination_and_truncation_match_the_reference():
    """The Walk both terminates (|position| = 3) and hits its time limit of 4 steps."""
    episodes = collect(make_walk(), walk_policy, episodes=12, seed=3)
    expected = reference_episodes(make_walk(), walk_policy, 3, 12)
    for episode, transitions in zip(episodes, expected, strict=True):
        assert_same_episode(episode, transitions)
    ends = {(episode.terminated, episode.truncated) for episode in episodes}
    assert ends == {(True, False), (False, True)}  # both kinds of end occur in this sample


# ------------------------------------------------------------------ vector envs


@pytest.mark.parametrize("mode", MODES)
def test_sync_vector_env_has_exactly_the_single_env_transitions(mode):
    n, seed = 3, 11
    rollout = collect(sync_walks(n, mode), walk_policy, steps=20, seed=seed)
    assert_rows_match_reference(rollout, make_walk, walk_policy, seed)
    episodes = collect(sync_walks(n, mode), walk_policy, episodes=7, seed=seed)
    # quota: 7 episodes over 3 envs → 3, 2, 2 (env-major order)
    per_env = [
        reference_episodes(make_walk(), walk_policy, seed + i, q) for i, q in enumerate([3, 2, 2])
    ]
    for episode, transitions in zip(
        episodes, [episode for env in per_env for episode in env], strict=True
    ):
        assert_same_episode(episode, transitions)


def test_async_vector_env_has_exactly_the_single_env_transitions():
    env = gym.vector.AsyncVectorEnv([make_walk] * 2, autoreset_mode=AutoresetMode.SAME_STEP)
    try:
        collector = Collector(env, walk_policy, seed=5)
        rollout = collector.collect(steps=15)
        assert_rows_match_reference(rollout, make_walk, walk_policy, 5)
    finally:
        env.close()


def test_native_cartpole_vector_env_matches_single_cartpole():
    """CartPoleVectorEnv draws every reset from one generator; with one env its draws are those
    of a single CartPole-v1 with the same seed (both: uniform(±0.05, size 4) per reset)."""
    make_single = lambda: gym.make("CartPole-v1", max_episode_steps=9)  # noqa: E731
    env = gym.make_vec(
        "CartPole-v1", 1, vectorization_mode="vector_entry_point", max_episode_steps=9
    )
    rollout = collect(env, falling_policy, steps=60, seed=2)
    assert rollout.terminated.any() and not rollout.valid.all()  # real resets happened
    assert_rows_match_reference(rollout, make_single, falling_policy, 2)


def test_native_cartpole_records_only_real_transitions():
    """With 8 envs, every recorded transition must follow CartPole's dynamics: replay s_t, a_t
    in a single CartPole and compare s_{t+1} (float32 observations → 1e-5 tolerance). A reset
    step recorded as a transition would jump to a fresh state and fail."""
    env = gym.make_vec("CartPole-v1", 8, vectorization_mode="vector_entry_point")
    rollout = collect(env, falling_policy, steps=40, seed=0)
    ended = rollout.terminated | rollout.truncated
    # one reset slot after each end, except an end at the last column
    assert rollout.num_transitions == rollout.valid.size - ended[:, :-1].sum()
    np.testing.assert_array_equal(rollout.valid[:, 1:], ~ended[:, :-1])
    replay = gym.make("CartPole-v1").unwrapped
    replay.reset(seed=0)
    for s, a, s_next, terminated in zip(
        rollout.observations[rollout.valid],
        rollout.actions[rollout.valid],
        rollout.next_observations[rollout.valid],
        rollout.terminated[rollout.valid],
        strict=True,
    ):
        replay.state = s.astype(np.float64)
        replay.steps_beyond_terminated = None
        expected, _, expected_terminated, _, _ = replay.step(int(a))
        np.testing.assert_allclose(s_next, expected, rtol=1e-5, atol=1e-6)
        assert terminated == expected_terminated
    # every episode that starts after a reset slot starts in CartPole's reset box ±0.05
    starts = rollout.observations[:, 1:][rollout.valid[:, 1:] & ~rollout.valid[:, :-1]]
    assert len(starts) > 0 and np.abs(starts).max() <= 0.05


def test_no_transition_from_a_reset_step():
    """Walk's observations carry a clock: a real transition has s_t.clock < LIMIT, s_t not
    terminal (|position| < 3) and s_{t+1}.clock = s_t.clock + 1. A recorded NEXT_STEP reset step
    would start from the final observation and jump to clock 0."""
    rollout = collect(sync_walks(4), walk_policy, steps=30, seed=0)
    s, s_next = rollout.observations[rollout.valid], rollout.next_observations[rollout.valid]
    assert (s[:, 1] < LIMIT).all() and (np.abs(s[:, 0]) < 3).all()
    np.testing.assert_array_equal(s_next[:, 1], s[:, 1] + 1)
    assert (~rollout.valid).sum() > 0  # the check saw reset slots and left them out
    invalid = ~rollout.valid
    assert (rollout.rewards[invalid] == 0).all()
    assert not (rollout.terminated | rollout.truncated)[invalid].any()


# ------------------------------------------------------------------ state across calls


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_successive_batches_continue_the_episodes(mode):
    """Two batches of 7 steps are one batch of 14 cut in two; the complete episode returns
    reported with each batch are those of the reference episodes."""
    seed, n = 4, 3
    whole = collect(sync_walks(n, mode), walk_policy, steps=14, seed=seed)
    collector = Collector(sync_walks(n, mode), walk_policy, seed=seed)
    first, second = collector.collect(steps=7), collector.collect(steps=7)
    for name in ("observations", "actions", "rewards", "terminated", "truncated", "valid"):
        joined = np.concatenate((getattr(first, name), getattr(second, name)), axis=1)
        np.testing.assert_array_equal(joined, getattr(whole, name), err_msg=name)
    # reference: (vector step, env, Σ r, length) of each episode that ends, from the plain loop
    ends = []
    for env in range(n):
        columns = np.flatnonzero(whole.valid[env])  # the vector step of each transition
        total, length = 0.0, 0
        for column, step in zip(
            columns, reference(make_walk(), walk_policy, seed + env, len(columns)), strict=True
        ):
            total, length = total + step[2], length + 1
            if step[3] or step[4]:
                ends.append((column, env, total, length))
                total, length = 0.0, 0
    ends.sort()  # the collector reports them by vector step, then env
    returns = np.concatenate((first.episode_returns, second.episode_returns))
    lengths = np.concatenate((first.episode_lengths, second.episode_lengths))
    np.testing.assert_array_equal(returns, [end[2] for end in ends])
    np.testing.assert_array_equal(lengths, [end[3] for end in ends])


def test_episode_quota_per_env():
    """1 episode from 3 envs: env 0's first episode (quota 1, 0, 0); 4 from 3 envs: 2, 1, 1."""
    episodes = collect(sync_walks(3), walk_policy, episodes=1, seed=6)
    assert_same_episode(episodes[0], reference_episodes(make_walk(), walk_policy, 6, 1)[0])
    episodes = collect(sync_walks(3), walk_policy, episodes=4, seed=6)
    expected = [
        reference_episodes(make_walk(), walk_policy, 6 + i, q) for i, q in enumerate([2, 1, 1])
    ]
    for episode, transitions in zip(
        episodes, [episode for env in expected for episode in env], strict=True
    ):
        assert_same_episode(episode, transitions)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_episodes_as_rollout(mode):
    """episodes=E with as_rollout=True: the Rollout whose valid steps are exactly the E
    episodes of the plain request, with their totals; a batch of steps taken first does not
    leak in (its episode in progress is discarded)."""
    expected = collect(sync_walks(3, mode), walk_policy, episodes=5, seed=2)
    collector = Collector(sync_walks(3, mode), walk_policy, seed=2)
    rollout = collector.collect(episodes=5, as_rollout=True)
    episodes = rollout.episodes()
    assert len(episodes) == 5 and rollout.num_transitions == sum(map(len, expected))
    for episode, reference_episode in zip(episodes, expected, strict=True):
        np.testing.assert_array_equal(episode.observations, reference_episode.observations)
        np.testing.assert_array_equal(episode.rewards, reference_episode.rewards)
    # episode_returns are ordered by end step; compare as sets of (return, length)
    got = sorted(zip(rollout.episode_returns, rollout.episode_lengths, strict=True))
    assert got == sorted((e.total_reward, len(e)) for e in expected)
    collector.collect(steps=3)
    later = collector.collect(episodes=2, as_rollout=True)
    assert all(e.observations[0, 1] == 0 and e.finished for e in later.episodes())
    assert len(later.episode_returns) == 2


def test_vector_env_without_autoreset_mode_is_taken_as_next_step():
    env = sync_walks(2)
    del env.metadata["autoreset_mode"]
    with pytest.warns(UserWarning, match="no metadata\\['autoreset_mode'\\]; assuming"):
        collector = Collector(env, walk_policy, seed=0)
    assert_rows_match_reference(collector.collect(steps=10), make_walk, walk_policy, 0)


def test_episodes_after_steps_are_whole_episodes():
    """An episodes request after a steps batch discards the episode in progress (its start was
    in the earlier batch): each returned episode starts at a reset (clock 0)."""
    collector = Collector(sync_walks(2), walk_policy, seed=0)
    collector.collect(steps=3)
    episodes = collector.collect(episodes=4)
    assert len(episodes) == 4
    assert all(episode.observations[0, 1] == 0 and episode.finished for episode in episodes)


# ------------------------------------------------------------------ returns


def test_rewards_to_go_on_a_rollout_equals_the_per_episode_loop():
    """returns.rewards_to_go over the [N, T] rows (bootstrapped with V(s') = 10 + s'·w at cuts)
    equals, at every valid slot, a plain loop over each episode of the rollout:
    G_t = r_t + γ G_{t+1}, with G_T = 0 after termination and V(s_T) otherwise."""
    from rlbasics.returns import rewards_to_go

    gamma, weights = 0.9, np.array([0.5, -0.25])

    def value(observations):
        return 10.0 + observations @ weights

    for mode in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        rollout = collect(sync_walks(3, mode), walk_policy, steps=17, seed=1)
        got = rewards_to_go(
            rollout.rewards,
            gamma,
            terminated=rollout.terminated,
            truncated=rollout.truncated,
            bootstrap=value(rollout.next_observations),
        )
        expected = []
        for episode in rollout.episodes():
            future = 0.0 if episode.terminated else float(value(episode.observations[-1]))
            returns = []
            for reward in episode.rewards[::-1]:
                future = reward + gamma * future
                returns.append(future)
            expected.extend(returns[::-1])
        np.testing.assert_allclose(got[rollout.valid], expected, rtol=1e-12)


# ------------------------------------------------------------------ policies and seeds


def test_same_seed_same_rollout_different_seed_different_rollout():
    def run(seed):
        env = gym.make_vec("CartPole-v1", 3, vectorization_mode="sync")
        return collect(env, random_policy(env.single_action_space), steps=50, seed=seed)

    a, b, c = run(7), run(7), run(8)
    for name in ("observations", "actions", "rewards", "terminated", "valid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.actions, c.actions)
    single = [
        collect(make_walk(), random_policy(Walk.action_space), episodes=5, seed=9) for _ in "ab"
    ]
    for x, y in zip(*single, strict=True):
        np.testing.assert_array_equal(x.actions, y.actions)


def test_log_probs_keep_their_gradient():
    """A linear softmax policy returning (actions, log π(a|s)): the Rollout's log-probs carry the
    graph, are 0 at reset slots, and their gradient equals that of log π recomputed from the
    recorded (s, a) at the valid slots (an independent forward pass)."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(2, 2)
    generator = torch.Generator().manual_seed(0)

    def policy(observations):
        logits = linear(torch.as_tensor(observations))
        actions = torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
        return actions, logits.log_softmax(-1).gather(1, actions[:, None])[:, 0]

    rollout = collect(sync_walks(3), policy, steps=12, seed=0)
    assert rollout.log_probs.requires_grad and rollout.log_probs.shape == (3, 12)
    assert (rollout.log_probs[torch.from_numpy(~rollout.valid)] == 0).all()
    rollout.log_probs.sum().backward()
    grad = linear.weight.grad.clone()
    linear.zero_grad()
    observations = torch.as_tensor(rollout.observations[rollout.valid])
    actions = torch.as_tensor(rollout.actions[rollout.valid])
    linear(observations).log_softmax(-1).gather(1, actions[:, None]).sum().backward()
    torch.testing.assert_close(grad, linear.weight.grad)


def test_box_actions_and_discrete_observations():
    """Pendulum-v1 (Box action in [−2, 2]) with the random policy; FrozenLake-v1 (Discrete
    observations) gives integer observations [N, T]."""
    env = gym.make_vec("Pendulum-v1", 2, vectorization_mode="sync")
    rollout = collect(env, random_policy(env.single_action_space), steps=5, seed=0)
    assert rollout.actions.shape == (2, 5, 1) and np.abs(rollout.actions).max() <= 2.0
    lake = gym.make("FrozenLake-v1")
    rollout = collect(lake, random_policy(lake.action_space), steps=20, seed=0)
    assert rollout.observations.shape == (1, 20) and rollout.observations.dtype.kind == "i"
    assert_rows_match_reference(
        rollout, lambda: gym.make("FrozenLake-v1"), _seeded_lake_policy(), 0
    )


def _seeded_lake_policy():
    """FrozenLake actions as the collector's random policy draws them for seed 0."""
    space = gym.spaces.Discrete(4)
    space.seed(0)
    return random_policy(space)


def test_keep_infos():
    """Each episode's infos are the env's own per-step infos, in every auto-reset mode."""
    for mode in MODES:
        episodes = collect(sync_walks(2, mode), walk_policy, episodes=4, seed=0, keep_infos=True)
        expected = reference_episodes(make_walk(), walk_policy, 0, 2)
        for episode, transitions in zip(episodes[:2], expected, strict=True):
            assert episode.infos == [step[6] for step in transitions]
    single = collect(make_walk(), walk_policy, episodes=1, seed=0, keep_infos=True)[0]
    assert single.infos == [
        step[6] for step in reference_episodes(make_walk(), walk_policy, 0, 1)[0]
    ]
