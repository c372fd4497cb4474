"""rlbasics.returns against independent truth: plain per-step Python loops (the forward view of
every equation, with explicit episode bookkeeping), closed forms, identities, and scipy."""

import math
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.signal import lfilter

from rlbasics.returns import (
    discounted_return,
    generalized_advantage,
    lambda_returns,
    n_step_returns,
    rewards_to_go,
    td_errors,
)

PROPERTY = settings(max_examples=60, deadline=None)  # deadline: the first call may compile

# --- plain-loop references: one row at a time, Python floats, sums written out forward ------


def episode_end(t, terminated, truncated):
    """The last step e ≥ t of step t's episode: the first flagged step, or the row's end."""
    e = t
    while not (terminated[e] or truncated[e] or e == len(terminated) - 1):
        e += 1
    return e


def cut_value(e, terminated, bootstrap):
    """What follows an episode ending at e: 0 if terminated, else V(s_{e+1}) = bootstrap[e]."""
    return 0.0 if terminated[e] else bootstrap[e]


def loop_discounted_return(r, gamma):
    return sum(gamma**t * r[t] for t in range(len(r)))


def loop_n_step(r, v, gamma, n, terminated, truncated, bootstrap):
    """G^(n)_t = Σ_{k<n} γ^k r_{t+k} + γ^n V(s_{t+n}), stopping at the episode's end e."""
    out = []
    for t in range(len(r)):
        e = episode_end(t, terminated, truncated)
        horizon = min(n, e - t + 1)
        g = sum(gamma**k * r[t + k] for k in range(horizon))
        if t + n <= e:
            g += gamma**n * v[t + n]
        else:
            g += gamma ** (e - t + 1) * cut_value(e, terminated, bootstrap)
        out.append(g)
    return out


def loop_rewards_to_go(r, gamma, terminated, truncated, bootstrap):
    """G_t = Σ_{k=t}^{e} γ^{k−t} r_k + γ^{e−t+1}·(cut value): the n-step return with n = ∞."""
    return loop_n_step(r, [0.0] * len(r), gamma, len(r) + 1, terminated, truncated, bootstrap)


def loop_lambda_returns(r, v, gamma, lam, terminated, truncated, bootstrap):
    """Forward view (Sutton & Barto eq. 12.3): G^λ_t = (1−λ) Σ_{m=1}^{L−1} λ^{m−1} G^(m)_t
    + λ^{L−1} G^(L)_t, where L = e − t + 1 steps remain in the episode."""
    n_step = {m: loop_n_step(r, v, gamma, m, terminated, truncated, bootstrap)
              for m in range(1, len(r) + 1)}
    out = []
    for t in range(len(r)):
        steps_left = episode_end(t, terminated, truncated) - t + 1
        g = sum((1 - lam) * lam ** (m - 1) * n_step[m][t] for m in range(1, steps_left))
        out.append(g + lam ** (steps_left - 1) * n_step[steps_left][t])
    return out


def loop_td_errors(r, v, gamma, terminated, truncated, bootstrap):
    """δ_t = r_t + γ V(s_{t+1}) − V(s_t); at an episode's end V(s_{t+1}) is the cut value."""
    out = []
    for t in range(len(r)):
        e = episode_end(t, terminated, truncated)
        v_next = v[t + 1] if t < e else cut_value(e, terminated, bootstrap)
        out.append(r[t] + gamma * v_next - v[t])
    return out


def loop_gae(r, v, gamma, lam, terminated, truncated, bootstrap):
    """A_t = Σ_{l=0}^{e−t} (γλ)^l δ_{t+l} (Schulman et al. 2016, eq. 16, cut at the end e)."""
    delta = loop_td_errors(r, v, gamma, terminated, truncated, bootstrap)
    out = []
    for t in range(len(r)):
        e = episode_end(t, terminated, truncated)
        out.append(sum((gamma * lam) ** lag * delta[t + lag] for lag in range(e - t + 1)))
    return out


def per_row(loop, shape, *arrays_and_scalars):
    """Apply a one-row reference to every row of [..., T] arrays (scalars pass through)."""
    count = int(np.prod(shape[:-1]))
    rows = [a.reshape(count, shape[-1]).tolist() if isinstance(a, np.ndarray) else a
            for a in arrays_and_scalars]
    result = [loop(*[a[i] if isinstance(a, list) else a for a in rows]) for i in range(count)]
    return np.array(result, dtype=np.float64).reshape(shape)


# --- random cases ---------------------------------------------------------------------------

SHAPES = st.tuples(st.sampled_from([(), (1,), (3,), (2, 2)]), st.integers(0, 9)).map(
    lambda lead_and_steps: (*lead_and_steps[0], lead_and_steps[1]))
FRACTIONS = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))
NUMBERS = st.floats(-10.0, 10.0)


@st.composite
def cases(draw):
    """Rewards, values, γ, λ and a random pattern of terminated/truncated steps + bootstrap."""
    shape = draw(SHAPES)
    flags = st.one_of(st.none(), arrays(np.bool_, shape))
    bootstrap = st.one_of(st.none(), NUMBERS, arrays(np.float64, shape, elements=NUMBERS))
    return {
        "rewards": draw(arrays(np.float64, shape, elements=NUMBERS)),
        "values": draw(arrays(np.float64, shape, elements=NUMBERS)),
        "gamma": draw(FRACTIONS),
        "lam": draw(FRACTIONS),
        "terminated": draw(flags),
        "truncated": draw(flags),
        "bootstrap": draw(bootstrap),
    }


def reference_inputs(case):
    """The case's flags and bootstrap as full arrays (None → all False / all 0)."""
    shape = case["rewards"].shape
    flag = [np.zeros(shape, bool) if case[k] is None else case[k]
            for k in ("terminated", "truncated")]
    bootstrap = 0.0 if case["bootstrap"] is None else case["bootstrap"]
    return (*flag, np.broadcast_to(np.asarray(bootstrap, dtype=np.float64), shape))


def ends(case):
    return {k: case[k] for k in ("terminated", "truncated", "bootstrap")}


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(cases())
def test_rewards_to_go_matches_loop(case):
    r = case["rewards"]
    expected = per_row(loop_rewards_to_go, r.shape, r, case["gamma"], *reference_inputs(case))
    assert_close(rewards_to_go(r, case["gamma"], **ends(case)), expected)


@PROPERTY
@given(cases())
def test_lambda_returns_match_forward_view(case):
    r, v = case["rewards"], case["values"]
    expected = per_row(loop_lambda_returns, r.shape, r, v, case["gamma"], case["lam"],
                       *reference_inputs(case))
    assert_close(lambda_returns(r, v, case["gamma"], case["lam"], **ends(case)), expected)


@PROPERTY
@given(cases())
def test_generalized_advantage_matches_sum_of_td_errors(case):
    r, v = case["rewards"], case["values"]
    expected = per_row(loop_gae, r.shape, r, v, case["gamma"], case["lam"],
                       *reference_inputs(case))
    assert_close(generalized_advantage(r, v, case["gamma"], case["lam"], **ends(case)), expected)


@PROPERTY
@given(cases())
def test_td_errors_match_loop(case):
    r, v = case["rewards"], case["values"]
    expected = per_row(loop_td_errors, r.shape, r, v, case["gamma"], *reference_inputs(case))
    assert_close(td_errors(r, v, case["gamma"], **ends(case)), expected)


@PROPERTY
@given(cases(), st.integers(1, 12))
def test_n_step_returns_match_loop(case, n):
    r, v = case["rewards"], case["values"]
    expected = per_row(loop_n_step, r.shape, r, v, case["gamma"], n, *reference_inputs(case))
    assert_close(n_step_returns(r, v, case["gamma"], n, **ends(case)), expected)


@PROPERTY
@given(cases())
def test_discounted_return_matches_loop(case):
    r = case["rewards"]
    rows = r.reshape(int(np.prod(r.shape[:-1])), r.shape[-1])
    expected = [loop_discounted_return(row.tolist(), case["gamma"]) for row in rows]
    assert_close(discounted_return(r, case["gamma"]), np.reshape(expected, r.shape[:-1]))


# --- closed forms ---------------------------------------------------------------------------


def test_worked_example():
    # γ=0.5, r=[1,1,1]: G_2 = 1, G_1 = 1 + 0.5·1 = 1.5, G_0 = 1 + 0.5·1.5 = 1.75 = G(τ)
    r = np.array([1.0, 1.0, 1.0])
    np.testing.assert_array_equal(rewards_to_go(r, 0.5), [1.75, 1.5, 1.0])
    assert discounted_return(r, 0.5) == 1.75


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.99])
@pytest.mark.parametrize("steps", [1, 2, 50])
def test_constant_reward_geometric_series(gamma, steps):
    # r_t = c for T steps, terminated at the end: G_t = c(1 − γ^{T−t})/(1 − γ)
    c = 2.5
    rewards = np.full(steps, c)
    terminated = np.zeros(steps, bool)
    terminated[-1] = True
    remaining = steps - np.arange(steps)
    expected = c * (1 - gamma**remaining) / (1 - gamma)
    assert_close(rewards_to_go(rewards, gamma, terminated=terminated), expected)
    assert math.isclose(discounted_return(rewards, gamma), expected[0], rel_tol=1e-12)


def test_gamma_zero_gives_the_rewards():
    rewards = np.random.default_rng(0).normal(size=(3, 20))
    np.testing.assert_array_equal(rewards_to_go(rewards, 0.0, bootstrap=7.0), rewards)
    np.testing.assert_array_equal(discounted_return(rewards, 0.0), rewards[:, 0])


def test_gamma_one_gives_suffix_sums():
    rewards = np.random.default_rng(1).normal(size=(3, 20))
    suffix_sums = np.cumsum(rewards[:, ::-1], axis=1)[:, ::-1]
    assert_close(rewards_to_go(rewards, 1.0), suffix_sums)
    assert_close(discounted_return(rewards, 1.0), rewards.sum(axis=1))


def test_matches_spinning_up_discount_cumsum():
    # Spinning Up's finish_path: discount_cumsum(append(rews, last_val))[:-1] via lfilter
    rewards = np.random.default_rng(2).normal(size=100)
    last_value = 3.0
    padded = np.append(rewards, last_value)
    expected = lfilter([1], [1, -0.97], padded[::-1])[::-1][:-1]
    assert_close(rewards_to_go(rewards, 0.97, bootstrap=last_value), expected)


# --- identities -----------------------------------------------------------------------------

RNG = np.random.default_rng(3)
R = RNG.normal(size=(4, 30))
V = RNG.normal(size=(4, 30))
BOOT = RNG.normal(size=(4, 30))
TERM = RNG.random((4, 30)) < 0.1
TRUNC = RNG.random((4, 30)) < 0.1
ENDS = {"terminated": TERM, "truncated": TRUNC, "bootstrap": BOOT}


def test_discounted_return_is_first_rewards_to_go():
    assert_close(discounted_return(R, 0.9), rewards_to_go(R, 0.9)[:, 0])


def test_lambda_one_is_rewards_to_go_and_lambda_zero_is_td0_target():
    assert_close(lambda_returns(R, V, 0.9, 1.0, **ENDS), rewards_to_go(R, 0.9, **ENDS))
    assert_close(lambda_returns(R, V, 0.9, 0.0, **ENDS), n_step_returns(R, V, 0.9, 1, **ENDS))
    assert_close(lambda_returns(R, V, 0.9, 0.0, **ENDS), td_errors(R, V, 0.9, **ENDS) + V)


def test_gae_is_lambda_return_minus_values():
    assert_close(generalized_advantage(R, V, 0.9, 0.95, **ENDS),
                 lambda_returns(R, V, 0.9, 0.95, **ENDS) - V)
    assert_close(generalized_advantage(R, V, 0.9, 0.0, **ENDS), td_errors(R, V, 0.9, **ENDS))


def test_gae_lambda_one_with_zero_values_is_rewards_to_go():
    zeros = np.zeros_like(R)
    assert_close(generalized_advantage(R, zeros, 0.9, 1.0, **ENDS), rewards_to_go(R, 0.9, **ENDS))


def test_long_horizon_n_step_is_rewards_to_go():
    assert_close(n_step_returns(R, V, 0.9, 30, **ENDS), rewards_to_go(R, 0.9, **ENDS))
    assert_close(n_step_returns(R, V, 0.9, 2**70, **ENDS), rewards_to_go(R, 0.9, **ENDS))


def test_episodes_back_to_back_equal_episodes_one_by_one():
    row = RNG.normal(size=12)
    terminated = np.zeros(12, bool)
    truncated = np.zeros(12, bool)
    terminated[3], truncated[7] = True, True  # episodes 0–3 (terminal), 4–7 (cut), 8–11 (open)
    bootstrap = np.full(12, np.nan)  # read only where an episode was cut
    bootstrap[7], bootstrap[11] = 5.0, -2.0
    together = rewards_to_go(row, 0.8, terminated=terminated, truncated=truncated,
                             bootstrap=bootstrap)
    one_by_one = np.concatenate([
        rewards_to_go(row[0:4], 0.8),
        rewards_to_go(row[4:8], 0.8, bootstrap=5.0),
        rewards_to_go(row[8:12], 0.8, bootstrap=-2.0),
    ])
    assert_close(together[:4], rewards_to_go(row[0:4], 0.8, terminated=terminated[0:4]))
    assert_close(together, one_by_one)


def test_terminated_wins_over_truncated():
    both = TERM | TRUNC
    only_terminated = TRUNC & ~TERM
    assert_close(
        rewards_to_go(R, 0.9, terminated=TERM, truncated=both, bootstrap=BOOT),
        rewards_to_go(R, 0.9, terminated=TERM, truncated=only_terminated, bootstrap=BOOT),
    )


def test_bootstrap_is_read_only_at_cuts():
    last = np.zeros((4, 30), bool)
    last[:, -1] = True
    read = (TRUNC | last) & ~TERM  # truncated steps and unfinished ends
    poisoned = np.where(read, BOOT, np.nan)
    for function in (lambda **kw: rewards_to_go(R, 0.9, **kw),
                     lambda **kw: generalized_advantage(R, V, 0.9, 0.9, **kw),
                     lambda **kw: n_step_returns(R, V, 0.9, 3, **kw)):
        assert_close(function(terminated=TERM, truncated=TRUNC, bootstrap=poisoned),
                     function(terminated=TERM, truncated=TRUNC, bootstrap=BOOT))


# --- types, layouts, devices ----------------------------------------------------------------

FUNCTIONS = {
    "discounted_return": lambda r, v, **kw: discounted_return(r, 0.9),
    "rewards_to_go": lambda r, v, **kw: rewards_to_go(r, 0.9, **kw),
    "lambda_returns": lambda r, v, **kw: lambda_returns(r, v, 0.9, 0.8, **kw),
    "generalized_advantage": lambda r, v, **kw: generalized_advantage(r, v, 0.9, 0.8, **kw),
    "td_errors": lambda r, v, **kw: td_errors(r, v, 0.9, **kw),
    "n_step_returns": lambda r, v, **kw: n_step_returns(r, v, 0.9, 4, **kw),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_numpy_and_torch_agree(name, dtype):
    function = FUNCTIONS[name]
    r, v, bootstrap = R.astype(dtype), V.astype(dtype), BOOT.astype(dtype)
    from_numpy = function(r, v, terminated=TERM, truncated=TRUNC, bootstrap=bootstrap)
    from_torch = function(torch.from_numpy(r), torch.from_numpy(v).requires_grad_(),
                          terminated=torch.from_numpy(TERM), truncated=torch.from_numpy(TRUNC),
                          bootstrap=torch.from_numpy(bootstrap))
    assert isinstance(from_numpy, np.ndarray) and from_numpy.dtype == dtype
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.from_numpy(r).dtype
    assert not from_torch.requires_grad and from_torch.device == torch.device("cpu")
    np.testing.assert_array_equal(from_torch.numpy(), from_numpy)
    # float32: inputs rounded to 2^-24 relative (|r|, |V| ≲ 4, ≲ 30 terms) → ≲ 1e-5 absolute
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(from_numpy, function(R, V, **ENDS), rtol=tolerance,
                               atol=tolerance)


@pytest.mark.parametrize(("dtype", "result"), [
    (np.float16, np.float16), (np.float32, np.float32), (np.float64, np.float64),
    (np.int32, np.float64), (np.int64, np.float64), (np.uint8, np.float64), (np.bool_, np.float64),
])
def test_dtype_in_is_dtype_out(dtype, result):
    rewards = np.array([[1, 0, 1], [0, 1, 1]], dtype=dtype)
    assert rewards_to_go(rewards, 0.5).dtype == result
    assert discounted_return(rewards, 0.5).dtype == result
    # γ=0.5: row 0 = [1 + 0.25, 0.5, 1] and row 1 = [0.5 + 0.25, 1.5, 1]
    np.testing.assert_array_equal(rewards_to_go(rewards, 0.5), [[1.25, 0.5, 1], [0.75, 1.5, 1]])


@pytest.mark.parametrize(("dtype", "result"), [
    (torch.bfloat16, torch.bfloat16), (torch.float16, torch.float16),
    (torch.int64, torch.float64), (torch.bool, torch.float64),
])
def test_torch_dtype_in_is_dtype_out(dtype, result):
    rewards = torch.tensor([1, 0, 1], dtype=dtype)
    togo = rewards_to_go(rewards, 0.5)
    assert togo.dtype == result
    torch.testing.assert_close(togo, torch.tensor([1.25, 0.5, 1.0], dtype=result))


def test_mixed_precision_follows_the_rewards():
    advantages = generalized_advantage(R.astype(np.float32), V, 0.9, 0.8, **ENDS)
    assert advantages.dtype == np.float32
    np.testing.assert_allclose(advantages, generalized_advantage(R.astype(np.float32), V.astype(
        np.float32), 0.9, 0.8, **ENDS), rtol=1e-6, atol=1e-6)  # V is read at float32 precision


def test_lists_are_accepted():
    np.testing.assert_array_equal(rewards_to_go([1, 1, 1], 0.5), [1.75, 1.5, 1.0])


def test_time_major_and_strided_inputs_give_the_same_numbers():
    expected = generalized_advantage(R, V, 0.9, 0.8, **ENDS)
    time_major = {k: np.asfortranarray(a) for k, a in ENDS.items()}
    assert np.asfortranarray(R).strides[0] < np.asfortranarray(R).strides[1]
    assert_close(generalized_advantage(np.asfortranarray(R), np.asfortranarray(V), 0.9, 0.8,
                                       **time_major), expected)
    doubled = np.repeat(R, 2, axis=1)[:, ::2]  # a strided view of R
    assert_close(rewards_to_go(doubled, 0.9, **ENDS), rewards_to_go(R, 0.9, **ENDS))
    backwards = R[:, ::-1]  # negative strides in, fresh positive strides out
    assert_close(rewards_to_go(backwards, 0.9), rewards_to_go(backwards.copy(), 0.9))
    assert all(s > 0 for s in rewards_to_go(backwards, 0.9).strides)
    assert_close(discounted_return(np.asfortranarray(R), 0.9), discounted_return(R, 0.9))
    togo = rewards_to_go(torch.from_numpy(R.T.copy()).T, 0.9)  # a [T, N] buffer seen as [N, T]
    assert togo.stride() == (1, 4)  # the result keeps the memory order (written in order)
    assert_close(togo.numpy(), rewards_to_go(R, 0.9))
    assert_close(n_step_returns(np.asfortranarray(R), V, 0.9, 3, **time_major),
                 n_step_returns(R, V, 0.9, 3, **ENDS))


def test_leading_axes_are_batch_axes():
    cube = R.reshape(2, 2, 30)
    assert_close(rewards_to_go(cube, 0.9), rewards_to_go(R, 0.9).reshape(2, 2, 30))
    assert discounted_return(cube, 0.9).shape == (2, 2)


def test_results_are_fresh_contiguous_arrays():
    togo = rewards_to_go(R.astype(np.float32), 0.9)
    assert togo.flags.c_contiguous and all(s > 0 for s in togo.strides)
    assert torch.from_numpy(togo).is_contiguous()  # no negative strides for torch to reject
    assert not np.shares_memory(togo, R)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5)])
def test_empty_trajectories_give_empty_results(shape):
    rewards = np.zeros(shape, np.float32)
    assert rewards_to_go(rewards, 0.9).shape == shape
    assert generalized_advantage(rewards, rewards, 0.9, 0.9).shape == shape
    assert n_step_returns(rewards, rewards, 0.9, 2).shape == shape
    np.testing.assert_array_equal(discounted_return(rewards, 0.9), np.zeros(shape[:-1]))


def test_float32_accumulates_without_drift_over_a_million_steps():
    rewards = np.random.default_rng(4).random(10**6).astype(np.float32)
    exact = rewards.astype(np.float64)
    for gamma, truth in [
        (1.0, np.cumsum(exact[::-1])[::-1]),  # suffix sums, up to 5·10^5
        (0.99999, lfilter([1], [1, -0.99999], exact[::-1])[::-1]),
    ]:
        togo = rewards_to_go(rewards, gamma)
        assert togo.dtype == np.float32
        np.testing.assert_allclose(togo, truth, rtol=1e-5, atol=0)
    # the check has teeth: accumulating in float32 (sequentially) drifts past 1e-5 (≈ 2.4e-5)
    naive = np.cumsum(rewards[::-1], dtype=np.float32)[::-1]
    assert np.max(np.abs(naive / np.cumsum(exact[::-1])[::-1] - 1)) > 1e-5


def test_memory_stays_a_small_multiple_of_the_input():
    rewards = np.ones(10**6)
    flags = np.zeros(10**6, bool)
    rewards_to_go(rewards, 0.9, terminated=flags, truncated=flags, bootstrap=rewards)  # compile
    tracemalloc.start()
    try:
        rewards_to_go(rewards, 0.9, terminated=flags, truncated=flags, bootstrap=rewards)
        generalized_advantage(rewards, rewards, 0.9, 0.9, bootstrap=rewards)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * rewards.nbytes  # the result itself, and no temporaries of its size


# --- out= -----------------------------------------------------------------------------------


def test_out_is_written_and_returned():
    out = np.empty_like(R)
    assert rewards_to_go(R, 0.9, out=out, **ENDS) is out
    assert_close(out, rewards_to_go(R, 0.9, **ENDS))
    out_f = np.asfortranarray(np.empty_like(R))
    assert_close(rewards_to_go(R, 0.9, out=out_f, **ENDS), out)


def test_out_may_be_rewards_itself():
    expected = rewards_to_go(R, 0.9, **ENDS)
    rewards = R.copy()
    rewards_to_go(rewards, 0.9, out=rewards, **ENDS)
    assert_close(rewards, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_torch_out(dtype):
    rewards = torch.ones(2, 3, dtype=dtype)
    out = torch.empty(2, 3, dtype=dtype)
    assert rewards_to_go(rewards, 0.5, out=out) is out
    torch.testing.assert_close(out, torch.tensor([[1.75, 1.5, 1.0]] * 2, dtype=dtype))


@pytest.mark.parametrize(("out", "error", "message"), [
    (np.empty((4, 29)), ValueError, r"out must have the shape of rewards \(4, 30\), got \(4, 29\)"),
    (np.empty((4, 30), np.float32), TypeError, "out must have dtype float64, got float32"),
    (torch.empty(4, 30, dtype=torch.float64), TypeError,
     "out must be a numpy.ndarray like rewards, got Tensor"),
    (np.broadcast_to(np.empty(30), (4, 30)), ValueError, "out must be writeable"),
    (BOOT, ValueError, "out must not overlap bootstrap"),
])
def test_bad_out(out, error, message):
    with pytest.raises(error, match=message):
        rewards_to_go(R, 0.9, out=out, **ENDS)


def test_out_overlapping_rewards_by_a_shift_is_refused():
    buffer = np.zeros(31)
    with pytest.raises(ValueError, match="out must not overlap rewards"):
        rewards_to_go(buffer[:30], 0.9, out=buffer[1:])


def test_torch_out_must_not_require_grad():
    with pytest.raises(ValueError, match="out must not require grad"):
        rewards_to_go(torch.ones(3), 0.9, out=torch.zeros(3, requires_grad=True))


# --- bad input: each error names the argument, the value and what is allowed ---------------


@pytest.mark.parametrize("gamma", [1.5, -0.1, math.nan, math.inf])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_gamma_outside_unit_interval(name, gamma):
    call = {"discounted_return": lambda: discounted_return(R, gamma),
            "rewards_to_go": lambda: rewards_to_go(R, gamma),
            "lambda_returns": lambda: lambda_returns(R, V, gamma, 0.5),
            "generalized_advantage": lambda: generalized_advantage(R, V, gamma, 0.5),
            "td_errors": lambda: td_errors(R, V, gamma),
            "n_step_returns": lambda: n_step_returns(R, V, gamma, 2)}[name]
    with pytest.raises(ValueError, match=rf"gamma must be in \[0, 1\], got {gamma}"):
        call()


@pytest.mark.parametrize("gamma", ["0.9", None, [0.9], np.array([0.9, 0.9]), 0.5j, True])
def test_gamma_not_a_real_number(gamma):
    with pytest.raises(TypeError, match=r"gamma must be a real number in \[0, 1\], got"):
        rewards_to_go(R, gamma)


def test_gamma_as_numpy_or_torch_scalar():
    expected = rewards_to_go(R, 0.5)
    for gamma in (np.float32(0.5), np.array(0.5), torch.tensor(0.5), 1 / 2):
        assert_close(rewards_to_go(R, gamma), expected)


@pytest.mark.parametrize("lam", [1.01, -1.0, math.nan])
def test_lam_outside_unit_interval(lam):
    with pytest.raises(ValueError, match=rf"lam must be in \[0, 1\], got {lam}"):
        lambda_returns(R, V, 0.9, lam)
    with pytest.raises(ValueError, match=rf"lam must be in \[0, 1\], got {lam}"):
        generalized_advantage(R, V, 0.9, lam)


@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one(n):
    with pytest.raises(ValueError, match=f"n must be >= 1, got {n}"):
        n_step_returns(R, V, 0.9, n)


@pytest.mark.parametrize("n", [2.5, 2.0, "3", None, True])
def test_n_not_an_integer(n):
    with pytest.raises(TypeError, match="n must be an integer >= 1, got"):
        n_step_returns(R, V, 0.9, n)


@pytest.mark.parametrize(("bad", "where"), [(math.nan, "7"), (math.inf, "0"), (-math.inf, "29")])
def test_non_finite_reward_is_located(bad, where):
    rewards = np.ones(30)
    rewards[int(where)] = bad
    with pytest.raises(ValueError, match=rf"rewards must be finite, got {bad} at index {where}$"):
        rewards_to_go(rewards, 0.9)
    with pytest.raises(ValueError, match=rf"rewards must be finite, got {bad} at index {where}$"):
        discounted_return(torch.from_numpy(rewards), 0.9)


def test_first_non_finite_reward_in_a_batch_is_located():
    for layout in (np.ascontiguousarray, np.asfortranarray):
        rewards = np.ones((3, 5), np.float32)
        rewards[2, 1] = rewards[1, 4] = rewards[1, 3] = np.nan
        with pytest.raises(ValueError, match=r"got nan at index \(1, 3\)"):
            generalized_advantage(layout(rewards), np.zeros((3, 5)), 0.9, 0.9)
        with pytest.raises(ValueError, match=r"got nan at index \(1, 3\)"):
            n_step_returns(layout(rewards), np.zeros((3, 5)), 0.9, 2)


def test_non_finite_values_are_located():
    values = np.zeros((2, 4))
    values[1, 2] = np.inf
    for call in (lambda: lambda_returns(R[:2, :4], values, 0.9, 0.9),
                 lambda: generalized_advantage(R[:2, :4], values, 0.9, 1.0),
                 lambda: td_errors(R[:2, :4], values, 0.9),
                 lambda: n_step_returns(R[:2, :4], values, 0.9, 1)):
        with pytest.raises(ValueError, match=r"values must be finite, got inf at index \(1, 2\)"):
            call()


def test_non_finite_bootstrap_where_read():
    with pytest.raises(ValueError, match=r"bootstrap must be finite where an episode is cut "
                                         r"\(truncated, or a row's unfinished end\), got nan "
                                         r"at index 2"):
        rewards_to_go(np.ones(3), 0.9, bootstrap=np.nan)
    truncated = np.array([False, True, False])
    with pytest.raises(ValueError, match=r"bootstrap must be finite .* got inf at index 1"):
        rewards_to_go(np.ones(3), 0.9, truncated=truncated, terminated=~truncated,
                      bootstrap=np.array([np.nan, np.inf, np.nan]))


@pytest.mark.parametrize("dtype", [np.complex128, object, str])
def test_non_real_rewards(dtype):
    rewards = np.ones(3).astype(dtype)
    with pytest.raises(TypeError, match=r"rewards must hold real numbers \(float, int or bool\), "
                                        "got"):
        rewards_to_go(rewards, 0.9)


def test_non_real_tensors_and_ragged_lists():
    with pytest.raises(TypeError, match=r"rewards must hold real numbers .* got torch\.complex64"):
        discounted_return(torch.ones(3, dtype=torch.complex64), 0.9)
    with pytest.raises(TypeError, match=r"values must hold real numbers .* got complex128"):
        generalized_advantage(np.ones(3), np.ones(3) * 1j, 0.9, 0.9)
    with pytest.raises(TypeError, match="rewards must be an array of real numbers"):
        rewards_to_go([[1.0], [1.0, 2.0]], 0.9)


def test_scalar_rewards():
    with pytest.raises(ValueError, match=r"rewards must have a time axis \(shape \[..., T\]\), "
                                         "got a scalar"):
        rewards_to_go(1.0, 0.9)


@pytest.mark.parametrize("name", ["terminated", "truncated"])
def test_non_boolean_flags(name):
    with pytest.raises(TypeError, match=f"{name} must be a boolean array, got int64"):
        rewards_to_go(R, 0.9, **{name: TERM.astype(np.int64)})
    with pytest.raises(TypeError, match=f"{name} must be a boolean array, got torch.float32"):
        rewards_to_go(R, 0.9, **{name: torch.from_numpy(TERM).float()})


@pytest.mark.parametrize("name", ["terminated", "truncated"])
@pytest.mark.parametrize("shape", [(30, 4), (4,), (30,), (1, 30), (4, 30, 1)])
def test_flags_for_the_wrong_axis(name, shape):
    message = rf"{name} must have the shape of rewards \(4, 30\) \(time on the last axis\), got"
    with pytest.raises(ValueError, match=message):
        rewards_to_go(R, 0.9, **{name: np.zeros(shape, bool)})


def test_mismatched_values_and_bootstrap():
    with pytest.raises(ValueError, match=r"values must have the shape of rewards \(4, 30\), "
                                         r"got \(30, 4\)"):
        generalized_advantage(R, V.T, 0.9, 0.9)
    with pytest.raises(ValueError, match=r"bootstrap must be a scalar or have the shape of "
                                         r"rewards \(4, 30\), got \(4,\)"):
        rewards_to_go(R, 0.9, bootstrap=np.zeros(4))
