"""Statistics across runs: interquartile mean, stratified-bootstrap confidence intervals,
learning curves on a common grid, and smoothing.

Following Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the Statistical
Precipice" (NeurIPS; the ``rliable`` library): with the few seeds RL can afford, report the
interquartile mean (robust to one outlier seed, less noisy than the median) with a
percentile-bootstrap confidence interval that resamples runs *within* each task.

NaN marks "no value here" (e.g. a grid point past a run's last episode): the statistics
below ignore NaN entries, and give NaN where nothing is left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "exponential_moving_average",
    "interpolate_to_grid",
    "interquartile_mean",
    "mean_ignoring_nan",
    "moving_average",
    "stratified_bootstrap_ci",
]

Statistic = Literal["iqm", "mean"] | Callable[[np.ndarray, int], np.ndarray]


def _divide_or_nan(total: np.ndarray, count: np.ndarray) -> np.ndarray | float:
    result = np.full(np.shape(total), np.nan)
    np.divide(total, count, out=result, where=count > 0)
    return result if result.ndim else float(result)


def mean_ignoring_nan(x: ArrayLike, axis: int = 0) -> np.ndarray | float:
    """Mean of the non-NaN entries along ``axis``; NaN (and no warning) where there are none.

    >>> mean_ignoring_nan([[1.0, np.nan], [3.0, np.nan]], axis=0)
    array([ 2., nan])
    """
    x = np.asarray(x, dtype=np.float64)
    present = ~np.isnan(x)
    return _divide_or_nan(np.where(present, x, 0.0).sum(axis), present.sum(axis))


def interquartile_mean(
    x: ArrayLike, axis: int | None = None, *, ignore_nan: bool = False
) -> np.ndarray | float:
    """Interquartile mean: sort the n values, drop ⌊n/4⌋ at each end, average the rest.

    IQM(x) = 1/(n − 2k) · Σ_{i=k}^{n−k−1} x_(i),  k = ⌊n/4⌋,  x_(0) ≤ … ≤ x_(n−1)

    the same as ``scipy.stats.trim_mean(x, 0.25)`` (Agarwal et al. 2021, Sec. 4). Over all
    entries when ``axis`` is None. NaN is refused unless ``ignore_nan``, which drops NaN
    entries first (each slice's own n) and gives NaN for a slice with none left.

    >>> interquartile_mean([1, 2, 3, 4, 5, 6, 7, 8])  # mean of 3, 4, 5, 6
    4.5
    >>> interquartile_mean([[1.0, 100.0, 2.0, 3.0], [1.0, np.nan, 2.0, 3.0]], axis=1,
    ...                    ignore_nan=True)  # k=1 drops 1 and 100; k=0 keeps 1, 2, 3
    array([2.5, 2. ])
    """
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.shape[axis] == 0:
        raise ValueError(f"x must have at least one value along axis {axis}, got shape {x.shape}")
    missing = np.isnan(x)
    if missing.any() and not ignore_nan:
        raise ValueError("x contains NaN; pass ignore_nan=True to drop NaN entries")
    ordered = np.sort(np.moveaxis(x, axis, -1), axis=-1)  # NaN sorts last
    n = (~np.moveaxis(missing, axis, -1)).sum(-1, keepdims=True)
    k = n // 4
    position = np.arange(ordered.shape[-1])
    middle = (position >= k) & (position < n - k)
    total = np.where(middle, ordered, 0.0).sum(-1)
    return _divide_or_nan(total, middle.sum(-1))


def _resolve(statistic: Statistic) -> Callable[[np.ndarray, int], np.ndarray]:
    if statistic == "iqm":
        return lambda x, axis: interquartile_mean(x, axis, ignore_nan=True)
    if statistic == "mean":
        return mean_ignoring_nan
    if callable(statistic):
        return statistic
    raise ValueError(f"statistic must be 'iqm', 'mean' or a callable, got {statistic!r}")


def stratified_bootstrap_ci(
    scores_per_task: Sequence[ArrayLike],
    statistic: Statistic = "iqm",
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int = 0,
) -> tuple[np.ndarray | float, np.ndarray | float, np.ndarray | float]:
    """Point estimate and percentile-bootstrap CI of a statistic over runs, stratified by task.

    ``scores_per_task[k]`` has shape ``[n_runs_k, ...]`` (trailing axes shared, e.g. grid
    points); the statistic reduces the runs of all tasks pooled along axis 0. Each of the
    ``n_boot`` replicates draws n_runs_k runs *with replacement within each task k* and
    recomputes the statistic θ*_b; the interval is the percentile interval
    [quantile(θ*, α/2), quantile(θ*, 1 − α/2)], α = 1 − confidence (Efron & Tibshirani
    1993, Ch. 13; stratified as in Agarwal et al. 2021 / rliable). With one task this is the
    ordinary bootstrap over seeds. ``statistic``: ``"iqm"``, ``"mean"`` (both ignore NaN)
    or ``f(x, axis)``. Returns ``(estimate, lower, upper)``, each of shape ``[...]``.

    >>> stratified_bootstrap_ci([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], "mean")  # no spread
    (0.5, 0.5, 0.5)
    """
    if isinstance(scores_per_task, np.ndarray) or not isinstance(scores_per_task, Sequence):
        raise TypeError("scores_per_task must be a list of arrays, one per task; "
                        "for a single task pass [scores]")
    tasks = [np.asarray(scores, dtype=np.float64) for scores in scores_per_task]
    if not tasks or any(t.ndim == 0 or t.shape[0] == 0 for t in tasks):
        raise ValueError("scores_per_task must hold at least one task, each with >= 1 run")
    if len({t.shape[1:] for t in tasks}) > 1:
        raise ValueError(f"tasks' trailing shapes differ: {[t.shape for t in tasks]}")
    if not (isinstance(n_boot, int) and n_boot >= 1):
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    reduce = _resolve(statistic)
    rng = np.random.default_rng(rng)
    estimate = np.asarray(reduce(np.concatenate(tasks), 0))
    runs = sum(t.shape[0] for t in tasks)
    chunk = max(1, 4_000_000 // (runs * max(1, estimate.size)))  # bounds memory, not results
    replicates = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        drawn = [t[rng.integers(0, t.shape[0], size=(size, t.shape[0]))] for t in tasks]
        replicates.append(np.asarray(reduce(np.concatenate(drawn, axis=1), 1)))
    replicates = np.concatenate(replicates).reshape(n_boot, -1)
    alpha = 1.0 - confidence
    lower, upper = np.full((2, replicates.shape[1]), np.nan)
    some = ~np.isnan(replicates).all(axis=0)  # nanquantile warns on an all-NaN column
    if some.any():
        lower[some], upper[some] = np.nanquantile(
            replicates[:, some], [alpha / 2, 1 - alpha / 2], axis=0
        )
    shape = estimate.shape
    if not shape:
        return float(estimate), float(lower[0]), float(upper[0])
    return estimate, lower.reshape(shape), upper.reshape(shape)


def interpolate_to_grid(xs: ArrayLike, ys: ArrayLike, grid: ArrayLike) -> np.ndarray:
    """One run's curve read off at ``grid``: linear between its points, NaN outside them.

    y(g) = y_i + (g − x_i)(y_{i+1} − y_i)/(x_{i+1} − x_i) for x_i ≤ g ≤ x_{i+1}; NaN for
    g < x_0 or g > x_{n−1} (no data before the first episode or after the run stopped).
    ``xs`` must be non-decreasing (env steps, episodes and time are).

    >>> interpolate_to_grid([10, 20], [1.0, 3.0], [0, 10, 15, 20, 25])
    array([nan, 1., 2., 3., nan])
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size == 0:
        raise ValueError(f"xs and ys must be 1-D of one length >= 1, got {xs.shape}, {ys.shape}")
    if not np.isfinite(xs).all() or (np.diff(xs) < 0).any():
        raise ValueError("xs must be finite and non-decreasing")
    return np.interp(np.asarray(grid, dtype=np.float64), xs, ys, left=np.nan, right=np.nan)


def moving_average(values: ArrayLike, window: int) -> np.ndarray:
    """Trailing moving average: s_i = mean(y_j for max(0, i − w + 1) ≤ j ≤ i).

    Causal (s_i uses no later value) and the same length as ``values``; the first w − 1
    points average what exists so far.

    >>> moving_average([0.0, 2.0, 4.0, 6.0], window=2)
    array([0., 1., 3., 5.])
    """
    if not (isinstance(window, int) and window >= 1):
        raise ValueError(f"window must be an int >= 1, got {window!r}")
    values = np.asarray(values, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, values.size + 1)
    start = np.maximum(0, end - window)
    return (cumulative[end] - cumulative[start]) / (end - start)


def exponential_moving_average(values: ArrayLike, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing slider).

    m_i = β m_{i−1} + (1 − β) y_i with m_{−1} = 0, and s_i = m_i / (1 − β^{i+1}) so the
    start is not pulled towards 0 (Kingma & Ba 2015, Sec. 3). β = ``weight`` ∈ [0, 1).

    >>> exponential_moving_average([1.0, 1.0, 1.0], weight=0.9)
    array([1., 1., 1.])
    """
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    smoothed = np.empty_like(values)
    momentum = 0.0
    for i, value in enumerate(values):
        momentum = weight * momentum + (1 - weight) * value
        smoothed[i] = momentum / (1 - weight ** (i + 1))
    return smoothed
