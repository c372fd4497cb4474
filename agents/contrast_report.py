"""The report of the MLE-vs-RL contrast: its rows, Student-t intervals, a table and a figure.

:func:`agents.contrast.run_contrast` measures; this module holds what it returns,
:class:`ContrastResult` (``.rows``, ``.table()``, ``.figure()``), and :func:`t_interval`, the
mean ± 95 % Student-t half-width over seeds that every cell of the table and every error bar of
the figure shows (a bootstrap over 3 seeds cannot reach past their range). Both are re-exported
by ``agents.contrast``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from agents.contrast import ContrastConfig

__all__ = ["ROW_KEYS", "ContrastResult", "t_interval"]

ENV_ID = "CartPole-v1"  # the experiment's env: the scripted expert is CartPole's
#: The keys of every row of :attr:`ContrastResult.rows` (NaN where a key does not apply).
ROW_KEYS = ("part", "method", "seed", "fraction", "steps_per_episode", "examples",
            "demonstrator_return", "validation_nll", "demonstrator_nll", "validation_accuracy",
            "expert_accuracy", "own_accuracy", "return_greedy", "return_sampled", "solved",
            "env_steps")
# The "method" of the rows of the two cloning learners.
BC, RW_BC = "behaviour cloning", "reward-weighted BC"


# ---------------------------------------------------------------------------- statistics


def _t_two_sided_mass(t: float, df: int) -> float:
    """P(|T| ≤ t) for Student's t with ``df`` degrees of freedom, in closed form.

    With θ = arctan(t/√ν) (Abramowitz & Stegun 26.7.3–4): ν odd, 2/π·(θ + sin θ Σ_{k<(ν−1)/2}
    c_k cos^{2k+1} θ), c_0 = 1, c_k = c_{k−1}·2k/(2k+1); ν even, sin θ Σ_{k<ν/2} d_k cos^{2k} θ,
    d_0 = 1, d_k = d_{k−1}·(2k−1)/(2k).
    """
    theta = math.atan(t / math.sqrt(df))
    cosine, total = math.cos(theta), 0.0
    if df % 2:
        term = cosine
        for k in range((df - 1) // 2):
            total += term
            term *= cosine**2 * (2 * k + 2) / (2 * k + 3)
        return 2 / math.pi * (theta + math.sin(theta) * total)
    term = 1.0
    for k in range(df // 2):
        total += term
        term *= cosine**2 * (2 * k + 1) / (2 * k + 2)
    return math.sin(theta) * total


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width h of the Student-t confidence interval, mean ± h.

    h = t_{(1+c)/2, n−1} · s / √n, s the sample standard deviation (ddof = 1): exact
    coverage c for normally distributed values, the usual interval for a few seeds. NaN
    values are dropped; with fewer than 2 left h is NaN (and the mean NaN with none). The
    quantile comes from the closed-form t distribution (:func:`_t_two_sided_mass`, O(n) per
    evaluation) by bisection: meant for the few values of a handful of seeds.

    >>> mean, half = t_interval([1.0, 2.0, 3.0])  # s = 1, t_{0.975, 2} = 4.303
    >>> round(mean, 3), round(half, 3)           # 4.303 / √3
    (2.0, 2.484)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    if len(array) == 0:
        return math.nan, math.nan
    mean = float(array.mean())
    if len(array) < 2:
        return mean, math.nan
    df = len(array) - 1
    low, high = 0.0, 1.0
    while _t_two_sided_mass(high, df) < confidence:
        high *= 2
    for _ in range(60):  # bisection (the mass increases with t) to double precision
        middle = (low + high) / 2
        low, high = (middle, high) if _t_two_sided_mass(middle, df) < confidence else (low, middle)
    return mean, high * float(array.std(ddof=1)) / math.sqrt(len(array))


# ---------------------------------------------------------------------------- the result


def _cell(values: Sequence[float], digits: int) -> str:
    """``mean ± h`` (95 % t) of the non-NaN values; ``n/a`` if none."""
    mean, half = t_interval(values)
    return "n/a" if math.isnan(mean) else f"{mean:.{digits}f} ± {half:.{digits}f}"


def _section(title: str, first: str, groups: Sequence[tuple[str, list[dict]]],
             columns: Sequence[tuple[str, str | None, str, int]]) -> str:
    """A titled text table: a row per (label, rows) group, a cell per (header, method, key,
    digits) column — mean ± h of ``key`` over the group's rows of that method (any: None)."""
    lines = [[first] + [header for header, *_ in columns]]
    lines += [[label] + [_cell([row[key] for row in rows if method in (None, row["method"])],
                               digits) for _, method, key, digits in columns]
              for label, rows in groups]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join([title] + ["  ".join(cell.rjust(width) for cell, width in
                                          zip(line, widths, strict=True)) for line in lines])


@dataclass(frozen=True, eq=False)
class ContrastResult:
    """What :func:`agents.contrast.run_contrast` measured.

    Attributes:
        config: the :class:`ContrastConfig` run.
        rows: one dict per (learner, setting, seed), keys ``ROW_KEYS`` (NaN where one does not
            apply). ``part``: ``"expert"``, ``"corruption"`` (parts 1 and 4),
            ``"compounding"`` or ``"reinforce"``; ``method``: the learner. Returns are means
            over the evaluation episodes; ``expert_accuracy`` is the share of held-out expert
            states (of steps t < ``steps_per_episode`` in part 2) where argmax π is the
            expert's action, ``own_accuracy`` the same on the states the greedy policy
            visited itself; ``examples`` counts demonstrated steps; ``env_steps`` is where
            REINFORCE first passed its threshold check.
        curves: per seed, REINFORCE's (env steps, greedy return) at its threshold checks.
        seeds: the seeds measured (fewer than asked if the run was interrupted).
        wall_time: seconds the run took.
    """

    config: ContrastConfig
    rows: list[dict[str, Any]]
    curves: dict[int, tuple[list[float], list[float]]]
    seeds: list[int]
    wall_time: float

    def _select(self, part: str, **where: float) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["part"] == part
                and all(row[key] == value for key, value in where.items())]

    def table(self) -> str:
        """The four parts as text tables of mean ± 95 % Student-t half-width over seeds."""
        config = self.config
        bad = "always-left" if config.corruption == "constant" else "uniformly random"
        expert = _cell([row["return_greedy"] for row in self._select("expert")], 1)
        by_fraction = [(f"{f:g}", self._select("corruption", fraction=f))
                       for f in config.fractions]
        sections = [
            f"MLE vs RL on {ENV_ID}: mean ± 95 % Student-t interval over {len(self.seeds)} "
            f"seeds ({', '.join(map(str, self.seeds))}); returns: mean of "
            f"{config.eval_episodes} evaluation episodes, greedy = argmax π, sampled = a ~ π.\n"
            f"Scripted expert (push right iff θ + 0.5·θ' > 0): return {expert}.",
            _section(f"1. Behaviour cloning fits what was done: a fraction ε of the expert's "
                     f"actions replaced ({bad}); NLL in nats per step on the held-out "
                     f"{config.validation_fraction:.0%} of each dataset", "ε", by_fraction,
                     [("examples", BC, "examples", 0),
                      ("demonstrator return", BC, "demonstrator_return", 1),
                      ("val. NLL BC", BC, "validation_nll", 3),
                      ("val. NLL demonstrator", BC, "demonstrator_nll", 3),
                      ("val. accuracy BC", BC, "validation_accuracy", 3),
                      ("BC return greedy", BC, "return_greedy", 1),
                      ("BC return sampled", BC, "return_sampled", 1)]),
        ]
        if config.compounding_steps:
            groups = [(str(k), self._select("compounding", steps_per_episode=k))
                      for k in config.compounding_steps]
            if 0 in config.fractions:
                groups.append(("500 (ε = 0 above)", self._select("corruption", fraction=0)))
            sections.append(_section(
                f"2. Compounding error: BC on the first k steps of {config.compounding_episodes}"
                " expert episodes; accuracy on held-out expert states of steps t < k", "k",
                groups, [("examples", BC, "examples", 0),
                         ("accuracy on expert states", BC, "expert_accuracy", 3),
                         ("accuracy on own states", BC, "own_accuracy", 3),
                         ("return greedy", BC, "return_greedy", 1)]))
        if config.reinforce_steps:
            rows = self._select("reinforce")
            solved = f"{sum(row['solved'] == 1 for row in rows)}/{len(rows)}"
            sections.append(_section(
                f"3. REINFORCE from scratch, no demonstrations (budget {config.reinforce_steps} "
                "env steps; stops when its greedy mean reaches 475)", "solved", [(solved, rows)],
                [("env steps to solve", None, "env_steps", 0),
                 ("return greedy", None, "return_greedy", 1),
                 ("return sampled", None, "return_sampled", 1),
                 ("accuracy on expert states", None, "expert_accuracy", 3)]))
        corrupted = [(label, rows) for label, rows in by_fraction if float(label) > 0]
        if corrupted:
            sections.append(_section(
                f"4. Reward-weighted BC, weights w_i = G_i (γ = {config.gamma}), on the same "
                "corrupted demonstrations", "ε", corrupted,
                [("BC return greedy", BC, "return_greedy", 1),
                 ("RW-BC return greedy", RW_BC, "return_greedy", 1),
                 ("BC return sampled", BC, "return_sampled", 1),
                 ("RW-BC return sampled", RW_BC, "return_sampled", 1),
                 ("val. NLL RW-BC", RW_BC, "validation_nll", 3)]))
        return "\n\n".join(sections) + "\n"

    def figure(self) -> Figure:
        """Four panels: return and NLL vs ε (parts 1, 4), accuracy vs return (part 2),
        REINFORCE's learning curves (part 3)."""
        config = self.config
        figure = Figure(figsize=(12, 9), layout="constrained")
        (returns, nlls), (compounding, reinforce) = figure.subplots(2, 2)
        fractions = sorted(config.fractions)

        def errorbars(ax: Any, key: str, method: str, label: str, style: str,
                      shift: float = 0.0) -> None:
            shown = [(f + shift, *t_interval([row[key] for row in rows]))
                     for f in fractions
                     if (rows := self._select("corruption", fraction=f, method=method))]
            if shown:
                x, mean, half = np.array(shown).T
                ax.errorbar(x, mean, yerr=half, fmt=style, capsize=3, label=label)

        bad = "always-left" if config.corruption == "constant" else "random"
        x_label = f"fraction ε of demonstrated actions replaced ({bad})"
        errorbars(returns, "demonstrator_return", BC, "demonstrator (corrupted expert)", "k--o")
        for method, name, shift, color in ((BC, "BC", -0.006, "C0"),
                                           (RW_BC, "reward-weighted BC", 0.006, "C1")):
            errorbars(returns, "return_greedy", method, f"{name}, greedy", f"{color}-o", shift)
            errorbars(returns, "return_sampled", method, f"{name}, sampled", f"{color}:s", shift)
        returns.set(xlabel=x_label, ylabel="episode return", ylim=(0, 520),
                    title="1, 4. Return (mean over seeds, 95 % t-interval)")
        errorbars(nlls, "demonstrator_nll", BC, "the demonstrator's own NLL", "k--o")
        errorbars(nlls, "validation_nll", BC, "behaviour cloning", "C0-o")
        nlls.set(xlabel=x_label, ylabel="validation NLL (nats per step)",
                 title="1. MLE fits what was done: BC's NLL is near the demonstrator's")
        groups = [(f"k = {k}", self._select("compounding", steps_per_episode=k))
                  for k in config.compounding_steps]
        groups.append(("full episodes (ε = 0)", self._select("corruption", fraction=0,
                                                              method=BC)))
        for label, rows in groups:
            compounding.scatter([row["expert_accuracy"] for row in rows],
                                [row["return_greedy"] for row in rows], label=label)
        compounding.set(xlabel="accuracy on held-out expert states (steps t < k)",
                        ylabel="episode return (greedy)", ylim=(0, 520),
                        title=f"2. Compounding error: BC on the first k steps of "
                              f"{config.compounding_episodes} expert episodes")
        compounding.legend(title="one point per seed", fontsize="small")
        for seed, (steps, values) in self.curves.items():
            reinforce.plot(steps, values, "-o", markersize=3, label=f"seed {seed}")
        reinforce.axhline(475, color="k", linestyle="--", linewidth=1, label="threshold 475")
        reinforce.set(xlabel="environment steps (its own samples)",
                      ylabel="greedy evaluation return", ylim=(0, 520),
                      title="3. REINFORCE from scratch (no demonstrations)")
        for ax in (returns, nlls, reinforce):
            ax.legend(fontsize="small")
        for ax in figure.axes:
            ax.grid(alpha=0.3)
        return figure
