"""Trajectory and Rollout: validation on construction and the split of a Rollout into episodes."""

import numpy as np
import pytest
import torch

from rlbasics.trajectory import Rollout, Trajectory


def make_trajectory(**changes):
    fields = dict(
        observations=np.zeros((4, 2)),
        actions=np.array([0, 1, 1]),
        rewards=np.array([1.0, 2.0, 3.0]),
        terminated=False,
        truncated=True,
    )
    fields.update(changes)
    return Trajectory(**fields)


def make_rollout(**changes):
    """A [N=2, T=5] rollout. Row 0: episode A ends (terminated) at t=1, t=2 is a NEXT_STEP reset
    slot, episode B runs t=3..4 unfinished. Row 1 (SAME_STEP style, no reset slot): episode C
    truncated at t=0, episode D terminated at t=2, episode E runs t=3..4 unfinished."""
    n, t = 2, 5
    observations = np.arange(n * t, dtype=np.float32).reshape(n, t, 1)
    fields = dict(
        observations=observations,
        actions=np.arange(n * t).reshape(n, t) % 2,
        rewards=np.array([[1.0, 2.0, 0.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]]),
        terminated=np.array(
            [[False, True, False, False, False], [False, False, True, False, False]]
        ),
        truncated=np.array(
            [[False, False, False, False, False], [True, False, False, False, False]]
        ),
        next_observations=observations + 100,
        valid=np.array([[True, True, False, True, True], [True, True, True, True, True]]),
    )
    fields.update(changes)
    return Rollout(**fields)


# ----------------------------------------------------------------------------- Trajectory


def test_trajectory_properties():
    episode = make_trajectory()
    assert len(episode) == 3
    assert episode.finished
    assert episode.total_reward == 6.0  # 1 + 2 + 3
    unfinished = make_trajectory(truncated=False)
    assert not unfinished.finished
    # numpy bools are accepted and stored as Python bools
    assert make_trajectory(terminated=np.bool_(True)).terminated is True


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (dict(rewards=np.zeros((3, 1))), ValueError, r"rewards must have shape \[T\] with T >= 1"),
        (
            dict(rewards=np.zeros(0), observations=np.zeros((1, 2)), actions=np.zeros(0)),
            ValueError,
            "T >= 1",
        ),
        (dict(rewards=[1.0, 2.0, 3.0]), TypeError, "rewards must be a numpy array, got list"),
        (
            dict(observations=np.zeros((3, 2))),
            ValueError,
            r"observations must hold T \+ 1 = 4 observations .* got 3",
        ),
        (
            dict(actions=np.array([0, 1])),
            ValueError,
            r"actions must hold T = 3 actions, got shape \(2,\)",
        ),
        (dict(terminated=1), TypeError, "terminated must be a bool, got 1"),
        (dict(truncated="yes"), TypeError, "truncated must be a bool"),
        (
            dict(log_probs=torch.zeros(2)),
            ValueError,
            r"log_probs must be None or a torch tensor of shape \(3,\)",
        ),
        (dict(log_probs=np.zeros(3)), ValueError, "log_probs must be None or a torch tensor"),
        (dict(infos=[{}]), ValueError, "infos must be None or hold T = 3 dicts, got 1"),
    ],
)
def test_trajectory_rejects_inconsistent_fields(changes, error, match):
    with pytest.raises(error, match=match):
        make_trajectory(**changes)


# ----------------------------------------------------------------------------- Rollout


def test_rollout_properties():
    rollout = make_rollout()
    assert (rollout.num_envs, rollout.num_steps) == (2, 5)
    assert rollout.num_transitions == 9  # 10 slots, one reset slot
    assert rollout.episode_returns.shape == rollout.episode_lengths.shape == (0,)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (dict(rewards=np.zeros(5)), ValueError, r"rewards must have shape \[N, T\]"),
        (dict(rewards=np.zeros((2, 0))), ValueError, r"N, T >= 1"),
        (
            dict(rewards=np.array([[1.0, 2.0, 0.0, 4.0, 5.0], [6.0, np.nan, 8.0, 9.0, 10.0]])),
            ValueError,
            "rewards must be finite; env 1, step 1 has nan",
        ),
        (
            dict(terminated=np.zeros((2, 5))),
            ValueError,
            r"terminated must be a bool array of shape \(2, 5\)",
        ),
        (
            dict(valid=np.ones((2, 4), bool)),
            ValueError,
            r"valid must be a bool array of shape \(2, 5\)",
        ),
        (dict(truncated=[[False] * 5] * 2), TypeError, "truncated must be a numpy array"),
        (dict(actions=np.zeros((2, 4))), ValueError, r"actions must have shape \[N, T, ...\]"),
        (
            dict(observations=np.zeros((5, 2, 1))),
            ValueError,
            r"observations must have shape \[N, T, ...\]",
        ),
        (
            dict(next_observations=np.zeros((2, 5, 3))),
            ValueError,
            r"next_observations must have the shape of observations \(2, 5, 1\)",
        ),
        # the reset slot (env 0, step 2) may not carry a reward or a flag
        (
            dict(rewards=np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]])),
            ValueError,
            "invalid slots must hold reward 0 and no flag; env 0, step 2 has reward 3.0",
        ),
        (
            dict(valid=np.array([[True, False, True, True, True]] * 2)),
            ValueError,
            "invalid slots must hold reward 0 and no flag; env 0, step 1",
        ),
        (
            dict(log_probs=torch.zeros(2, 4)),
            ValueError,
            r"log_probs must be None or a torch tensor of shape \(2, 5\)",
        ),
        (dict(infos=[{}] * 4), ValueError, "infos must be None or hold T = 5 dicts, got 4"),
        (
            dict(episode_returns=np.zeros(2)),
            ValueError,
            "episode_returns and episode_lengths must be 1-D",
        ),
    ],
)
def test_rollout_rejects_inconsistent_fields(changes, error, match):
    with pytest.raises(error, match=match):
        make_rollout(**changes)


def test_episodes_cut_at_flags_and_reset_slots():
    """The episodes of make_rollout, written out by hand from its docstring."""
    rollout = make_rollout(log_probs=torch.arange(10.0).reshape(2, 5))
    episodes = rollout.episodes()
    expected = [
        # (env, first slot, last slot, terminated, truncated)
        (0, 0, 1, True, False),  # A
        (0, 3, 4, False, False),  # B, cut by the end of the batch
        (1, 0, 0, False, True),  # C
        (1, 1, 2, True, False),  # D, right after C: no reset slot in between
        (1, 3, 4, False, False),  # E
    ]
    assert len(episodes) == len(expected)
    for episode, (env, first, last, terminated, truncated) in zip(episodes, expected, strict=True):
        steps = slice(first, last + 1)
        assert (episode.terminated, episode.truncated) == (terminated, truncated)
        np.testing.assert_array_equal(episode.rewards, rollout.rewards[env, steps])
        np.testing.assert_array_equal(episode.actions, rollout.actions[env, steps])
        # s_0 … s_{T-1} from observations, s_T is the next observation of the last slot
        np.testing.assert_array_equal(episode.observations[:-1], rollout.observations[env, steps])
        np.testing.assert_array_equal(
            episode.observations[-1], rollout.next_observations[env, last]
        )
        np.testing.assert_array_equal(episode.log_probs, rollout.log_probs[env, steps])
    assert sum(len(episode) for episode in episodes) == rollout.num_transitions
    assert [episode.total_reward for episode in episodes] == [3.0, 9.0, 6.0, 15.0, 19.0]


def test_episodes_skip_unselected_slots_and_keep_gradients():
    """A row whose first slots are unselected (valid False) and whose log-probs carry grad."""
    theta = torch.tensor(2.0, requires_grad=True)
    rollout = make_rollout(
        valid=np.array([[False, True, False, True, True], [True] * 5]),
        rewards=np.array([[0.0, 2.0, 0.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]]),
        log_probs=theta * torch.ones(2, 5),
    )
    first = rollout.episodes()[0]
    assert len(first) == 1 and first.terminated  # only slot 1 of row 0
    first.log_probs.sum().backward()
    assert theta.grad.item() == 1.0  # d/dθ of θ·1, one slot


def test_episodes_extract_each_envs_info():
    """Infos in Gymnasium's vector format; with SAME_STEP auto-reset the ending step's own info
    is under final_info (the top level holds the reset's info)."""
    infos = []
    for step in range(5):
        info = {"step": np.array([step, 10 + step]), "_step": np.array([True, step != 3])}
        if step == 0:  # env 1 truncated at step 0: SAME_STEP stores that step's info apart
            info["final_info"] = {"step": np.array([0, -1]), "_step": np.array([False, True])}
            info["_final_info"] = np.array([False, True])
        infos.append(info)
    episodes = make_rollout(infos=infos).episodes()
    assert episodes[0].infos == [{"step": 0}, {"step": 1}]
    assert episodes[2].infos == [{"step": -1}]  # C: final_info, not the reset info
    assert episodes[4].infos == [{}, {"step": 14}]  # E: env 1 had no "step" at step 3
