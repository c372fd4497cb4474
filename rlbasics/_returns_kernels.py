"""Compiled reverse-time recurrences behind :mod:`rlbasics.returns`.

Every kernel takes 2-D arrays ``[N, T]`` (rows × time) that are views of the caller's data,
reads them as float64 whatever their dtype (so float32 input accumulates in float64 and a
10^6-step sum does not drift), and writes its result into ``out``. Optional inputs are
``None``: numba compiles a version without the dead branches for each combination met.

Two loop orders: ``*_by_row`` walks each row back in time, the recurrence's state in a
register, for arrays whose time axis is contiguous (the usual ``[N, T]``); ``*_by_step``
sweeps all rows at each step, for time-major arrays (a ``[T, N]`` buffer passed transposed),
so that memory is still read in order. (n-step returns, off the hot path, go row by row.)

The kernels check every number they read as they go and return the flat index ``i·T + t``
of the first step (in C order) whose inputs held a non-finite number, ``N·T`` if none did:
the caller raises a precise error without a separate validation pass over the data.

Compilation is lazy and cached on disk, so it is paid once per machine, not once per run.
A call whose arrays are all C-contiguous (the usual case) or all Fortran-contiguous (time-
major) gets a version compiled for that layout, a third faster as known strides free
registers; any other call gets one version for all layouts (strided, broadcast, mixed), and
inputs are compiled read-only. Numba's default would compile one version per combination of
layouts and writeable flags.

Time indices are unsigned: numba then skips its negative-index wrap-around test, which
otherwise costs more than the recurrence itself.
"""

import inspect
import math
from collections.abc import Callable

import numba
import numpy as np
from numba import njit, types, uint64

# "contract" lets LLVM fuse γ·G + r into one FMA (one rounding, half the latency of the
# recurrence). No other fast-math flag: "nnan"/"ninf" would delete the finiteness checks.
_JIT = {"cache": True, "nogil": True, "fastmath": {"contract"}}


def _numba_type(value: object, layout: str, writes: bool) -> types.Type:
    """The type a kernel is compiled for: 2-D arrays in ``layout``, others (one number per
    row) in any layout; arrays are read-only unless written."""
    if value is None:
        return types.none
    if isinstance(value, np.ndarray):
        layout = layout if value.ndim == 2 else "A"
        return types.Array(numba.from_dtype(value.dtype), value.ndim, layout, readonly=not writes)
    return numba.typeof(value)


def _compiled_per_layout(writes: str, rarely_read: tuple[str, ...] = ()):
    """Compile the decorated kernel lazily, once per signature: "C" layout if every array
    is C-contiguous, "F" if every array is Fortran-contiguous, else "A" (any layout).

    ``writes`` names the argument the kernel writes into; ``rarely_read`` arrays (read at a
    few steps) are compiled as any layout whatever they are: their strides cost nothing.
    (1-D arrays, both C- and Fortran-contiguous, do not take part in the choice.)
    """

    def decorate(function: Callable) -> Callable:
        names = list(inspect.signature(function).parameters)
        compiled = {}

        def kernel(*args):
            arrays = [arg for name, arg in zip(names, args, strict=True)
                      if isinstance(arg, np.ndarray) and arg.ndim == 2 and name not in rarely_read]
            layout = ("C" if all(array.flags.c_contiguous for array in arrays) else
                      "F" if all(array.flags.f_contiguous for array in arrays) else "A")
            # a cheap key first: building numba types costs ~100 µs a call
            key = (layout, *((arg.dtype, arg.ndim) if isinstance(arg, np.ndarray) else type(arg)
                             for arg in args))
            if key not in compiled:
                signature = tuple(_numba_type(arg, layout if name not in rarely_read else "A",
                                              writes=name == writes)
                                  for name, arg in zip(names, args, strict=True))
                compiled[key] = njit([signature], **_JIT)(function)
            return compiled[key](*args)

        kernel.__doc__, kernel.__name__ = function.__doc__, function.__name__
        kernel.compiled = compiled  # for inspection: numba dispatchers, one per signature
        return kernel

    return decorate


@njit(**_JIT)
def _first_bad(first, finite, i, t, n_steps):
    """The smaller of ``first`` and step (i, t)'s flat index if (i, t) read a non-finite."""
    if finite:
        return first
    return min(first, i * n_steps + np.int64(t))


@njit(**_JIT)
def _lambda_step(reward, value, terminal, cut, future, value_next, return_next, gamma, lam):
    """(G^λ_t, were the numbers read finite) from the step's numbers and G^λ_{t+1}.

    G^λ_t = r_t + γ[(1−λ)V(s_{t+1}) + λG^λ_{t+1}] inside an episode; at its last step
    G^λ_t = r_t + γ·c_t, with c_t = 0 if ``terminal``, and c_t = ``future`` = V(s_{t+1})
    from bootstrap if ``cut`` (truncated or the row's end, and not terminal).
    """
    finite = math.isfinite(reward) & math.isfinite(value)
    if terminal:
        return reward, finite
    if cut:
        return reward + gamma * future, finite & math.isfinite(future)
    return reward + gamma * (1.0 - lam) * value_next + gamma * lam * return_next, finite


# The two λ-return kernels read a step's inputs the same way; the reads stay in the loop (not
# in a helper taking the arrays) because numba then adds reference counting to every step.
# Terminated wins over truncated; bootstrap is read only where used (memory bandwidth is
# what limits a large batch).
@_compiled_per_layout(writes="out", rarely_read=("bootstrap",))
def lambda_returns_by_row(rewards, values, bootstrap, terminated, truncated, gamma, lam,
                          advantage, out):
    """λ-returns (GAE with ``advantage``: G^λ_t − V(s_t)) of every step, row by row.

    rewards, out: [N, T]; values: [N, T] or None (V = 0: rewards-to-go when λ = 1);
    bootstrap: [N, T], read at cuts only; terminated, truncated: [N, T] bool or None.
    """
    n_rows, n_steps = rewards.shape
    first = n_rows * n_steps
    for i in range(n_rows):
        ret = value_next = 0.0
        for k in range(n_steps):
            t = uint64(n_steps - 1 - k)
            reward = np.float64(rewards[i, t])
            value = 0.0 if values is None else np.float64(values[i, t])
            terminal = False if terminated is None else terminated[i, t]
            cut = not terminal and (k == 0 or (truncated is not None and truncated[i, t]))
            future = np.float64(bootstrap[i, t]) if cut else 0.0
            ret, finite = _lambda_step(reward, value, terminal, cut, future, value_next, ret,
                                       gamma, lam)
            out[i, t] = ret - value if advantage else ret
            value_next = value
            first = _first_bad(first, finite, i, t, n_steps)
    return first


@_compiled_per_layout(writes="out", rarely_read=("bootstrap",))
def lambda_returns_by_step(rewards, values, bootstrap, terminated, truncated, gamma, lam,
                           advantage, out):
    """lambda_returns_by_row for time-major arrays: all rows at each step, back in time."""
    n_rows, n_steps = rewards.shape
    first = n_rows * n_steps
    rets = np.zeros(n_rows)
    values_next = np.zeros(n_rows)
    for k in range(n_steps):
        t = uint64(n_steps - 1 - k)
        for i in range(n_rows):
            reward = np.float64(rewards[i, t])
            value = 0.0 if values is None else np.float64(values[i, t])
            terminal = False if terminated is None else terminated[i, t]
            cut = not terminal and (k == 0 or (truncated is not None and truncated[i, t]))
            future = np.float64(bootstrap[i, t]) if cut else 0.0
            rets[i], finite = _lambda_step(reward, value, terminal, cut, future,
                                           values_next[i], rets[i], gamma, lam)
            out[i, t] = rets[i] - value if advantage else rets[i]
            values_next[i] = value
            first = _first_bad(first, finite, i, t, n_steps)
    return first


@_compiled_per_layout(writes="out", rarely_read=("bootstrap",))
def n_step_returns(rewards, values, bootstrap, terminated, truncated, gamma, n, out):
    """n-step returns of every step, O(1) per step whatever n; shapes as lambda_returns.

    Walks back with a sliding window: window = Σ_{k<h} γ^k r_{t+k}, h = min(n, end − t + 1),
    where ``end`` is the last step of t's episode, and tail = γ^{end−t+1}·c_end, the
    discounted future after the episode. G^(n)_t = window + γ^n V(s_{t+n}) if t + n ≤ end,
    else window + tail. (Row by row only: n-step returns are not on a hot path, and a
    time-major input just reads memory with a stride.)
    """
    n_rows, n_steps = rewards.shape
    first = n_rows * n_steps
    gamma_n = gamma**n
    horizon = uint64(n)
    for i in range(n_rows):
        window = tail = 0.0
        end = uint64(0)
        for k in range(n_steps):
            t = uint64(n_steps - 1 - k)
            reward = np.float64(rewards[i, t])
            terminal = False if terminated is None else terminated[i, t]
            cut = not terminal and (k == 0 or (truncated is not None and truncated[i, t]))
            future = np.float64(bootstrap[i, t]) if cut else 0.0
            finite = math.isfinite(reward) & math.isfinite(np.float64(values[i, t]))
            if terminal or cut:
                end, window, tail = t, 0.0, gamma * future
                finite &= math.isfinite(future)
            else:
                tail = gamma * tail
            window = reward + gamma * window
            if t + horizon <= end:
                window -= gamma_n * np.float64(rewards[i, t + horizon])
                out[i, t] = window + gamma_n * np.float64(values[i, t + horizon])
            else:
                out[i, t] = window + tail
            first = _first_bad(first, finite, i, t, n_steps)
    return first


@_compiled_per_layout(writes="out")
def discounted_sums_by_row(rewards, gamma, out):
    """out[i] = Σ_t γ^t rewards[i, t] by Horner's rule, r_0 + γ(r_1 + γ(r_2 + …))."""
    n_rows, n_steps = rewards.shape
    first = n_rows * n_steps
    for i in range(n_rows):
        total = 0.0
        for k in range(n_steps):
            t = uint64(n_steps - 1 - k)
            reward = np.float64(rewards[i, t])
            total = reward + gamma * total
            first = _first_bad(first, math.isfinite(reward), i, t, n_steps)
        out[i] = total
    return first


@_compiled_per_layout(writes="out")
def discounted_sums_by_step(rewards, gamma, out):
    """discounted_sums_by_row for time-major arrays: all rows at each step, back in time."""
    n_rows, n_steps = rewards.shape
    first = n_rows * n_steps
    totals = np.zeros(n_rows)
    for k in range(n_steps):
        t = uint64(n_steps - 1 - k)
        for i in range(n_rows):
            reward = np.float64(rewards[i, t])
            totals[i] = reward + gamma * totals[i]
            first = _first_bad(first, math.isfinite(reward), i, t, n_steps)
    out[:] = totals
    return first
