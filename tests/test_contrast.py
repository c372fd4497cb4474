"""Tests for agents.contrast: the MLE-vs-RL experiment, its statistics and its report.

Independent truths: scipy's Student-t distribution (the interval), a plain loop over the
demonstrator's policy π_ε (its NLL), and the environment's own returns for the directions
the experiment exists to show (issue 5's acceptance): BC on clean expert demonstrations
reaches 475; BC's return at ε = 0.5 is below its return at ε = 0 while its NLL stays at the
demonstrator's; a clone of a few short demonstrations is accurate on expert states yet
scores low. The full default run (about a minute and a half) is marked slow.
"""

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from scipy import stats

import agents.contrast as contrast
from agents.contrast import (
    ROW_KEYS,
    ContrastConfig,
    ContrastResult,
    demonstrator_nll,
    run_contrast,
    t_interval,
)
from agents.demonstrations import Corruption, cartpole_expert, make_demonstrations
from agents.reinforce import ReinforceConfig
from rlbasics.plotting import save_figure

# The smallest run whose numbers are the experiment's (measured: 12 s of CPU, 30 s on 2
# loaded cores). 1000 steps, not 500: from one 500-step episode BC scored 277, 426, 419 on
# seeds 0–2. One REINFORCE update (64 envs × 16 steps) only exercises part 3's code.
SMALL = ContrastConfig(fractions=(0.0, 0.5), compounding_steps=(10,), reinforce_steps=1024,
                       reinforce_eval_every=1, eval_episodes=5)
# A run small enough for checking determinism and interruption, not numbers.
MICRO = ContrastConfig(seeds=2, fractions=(0.5,), demo_steps=30, compounding_steps=(5,),
                       reinforce_steps=1024, reinforce_eval_every=1, bc_updates=3,
                       eval_episodes=1)


def cells(result, key, part, **where):
    """The per-seed values of ``key`` in the rows of ``part`` matching ``where``."""
    return np.array([row[key] for row in result.rows if row["part"] == part
                     and all(row[name] == value for name, value in where.items())])


@pytest.fixture(scope="module")
def small():
    return run_contrast(SMALL)


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seeds", 1, "seeds must be an integer >= 2, got 1"),
        ("seeds", 3.0, "seeds must be an integer >= 2, got 3.0"),
        ("first_seed", -1, "first_seed must be an integer >= 0, got -1"),
        ("fractions", (), r"fractions must be distinct numbers in \[0, 1\), at least one"),
        ("fractions", (0.0, 1.0), r"fractions must be .*, got \(0.0, 1.0\)"),
        ("fractions", (0.1, 0.1), "fractions must be distinct"),
        ("fractions", [0.0, 0.5], r"fractions must be .*, got \[0.0, 0.5\]"),
        ("fractions", (True,), "fractions must be distinct numbers"),
        ("corruption", "left", "corruption must be 'constant' or 'random', got 'left'"),
        ("demo_steps", 0, "demo_steps must be an integer >= 1, got 0"),
        ("compounding_episodes", 0, "compounding_episodes must be an integer >= 1"),
        ("compounding_steps", (0,), r"compounding_steps must be a tuple of integers in \[1, 500\]"),
        ("compounding_steps", (501,), "compounding_steps must be a tuple"),
        ("compounding_steps", 10, "compounding_steps must be a tuple"),
        ("reinforce_steps", -1, "reinforce_steps must be an integer >= 0, got -1"),
        ("reinforce_eval_every", 0, "reinforce_eval_every must be an integer >= 1, got 0"),
        ("eval_episodes", 0, "eval_episodes must be an integer >= 1, got 0"),
        ("hidden_sizes", [32], "hidden_sizes must be a tuple of integers >= 1"),
        ("hidden_sizes", (32, 0), "hidden_sizes must be a tuple of integers >= 1"),
        ("gamma", 1.5, r"gamma must be a number in \[0, 1\], got 1.5"),
        ("bc_updates", 0, "bc_updates must be an integer >= 1, got 0"),
        ("batch_size", False, "batch_size must be an integer >= 1, got False"),
        ("lr", 0.0, "lr must be a finite number > 0, got 0.0"),
        ("lr", math.inf, "lr must be a finite number > 0, got inf"),
        ("validation_fraction", 0.0, r"validation_fraction must be a number in \(0, 1\)"),
        ("validation_fraction", 1.0, r"validation_fraction must be a number in \(0, 1\)"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        ContrastConfig(**{field: value})


def test_bc_and_reinforce_share_the_network_and_gamma_by_default():
    config = ContrastConfig()
    assert config.hidden_sizes == ReinforceConfig.hidden_sizes
    assert config.gamma == ReinforceConfig.gamma


def test_run_contrast_refuses_anything_but_a_config():
    with pytest.raises(TypeError, match="config must be a ContrastConfig, got dict"):
        run_contrast({"seeds": 3})


# --- statistics -----------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_t_interval_matches_scipy(confidence):
    rng = np.random.default_rng(0)
    for n in [*range(2, 32), 100, 1001]:
        values = rng.normal(3.0, 2.0, size=n)
        mean, half = t_interval(values, confidence)
        quantile = stats.t.ppf((1 + confidence) / 2, df=n - 1)
        assert mean == pytest.approx(values.mean(), rel=1e-12)
        assert half == pytest.approx(quantile * values.std(ddof=1) / math.sqrt(n), rel=1e-9)


def test_t_interval_textbook_quantiles():
    # Half-width / (s/√n) is the quantile: t_{0.975,1} = 12.706, t_{0.975,2} = 4.303
    # (tables of Student's t), and → 1.960 (the normal's) as n grows.
    for values, quantile in [([0.0, 1.0], 12.706), ([0.0, 1.0, 2.0], 4.303)]:
        _, half = t_interval(values)
        assert half / (np.std(values, ddof=1) / math.sqrt(len(values))) == pytest.approx(
            quantile, abs=1e-3)
    values = np.random.default_rng(1).normal(size=1000)  # t_{0.975, 999} = 1.9623
    _, half = t_interval(values)
    assert half / (values.std(ddof=1) / math.sqrt(len(values))) == pytest.approx(1.962, abs=1e-3)


def test_t_interval_drops_nan_and_handles_too_few_values():
    assert t_interval([1.0, np.nan, 3.0]) == t_interval([1.0, 3.0])
    mean, half = t_interval([2.0])
    assert mean == 2.0 and math.isnan(half)
    assert all(math.isnan(x) for x in t_interval([np.nan]))
    assert t_interval([5.0, 5.0, 5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 1.0"):
        t_interval([1.0, 2.0], confidence=1.0)


def plain_loop_nll(observations, actions, corruption):
    """−mean log π_ε(a|s), π_ε written out case by case."""
    total = 0.0
    for observation, action in zip(observations, actions, strict=True):
        theta, theta_dot = observation[2], observation[3]
        expert = 1 if theta + 0.5 * theta_dot > 0 else 0
        if corruption is None:
            probability = 1.0 if action == expert else 0.0
        elif corruption.behaviour == "random":  # ε/2 for each of the two actions
            probability = (1 - corruption.fraction) * (action == expert) + corruption.fraction / 2
        else:
            probability = ((1 - corruption.fraction) * (action == expert)
                           + corruption.fraction * (action == corruption.action))
        total -= math.log(probability) if probability > 0 else -math.inf
    return total / len(actions)


@pytest.mark.parametrize("corruption", [None, Corruption(0.25, "constant"),
                                        Corruption(0.5, "random"), Corruption(0.1, "constant", 1)])
def test_demonstrator_nll_matches_a_plain_loop_on_its_own_data(corruption):
    demos = make_demonstrations("CartPole-v1", cartpole_expert, 2, seed=3, corruption=corruption)
    nll = demonstrator_nll(demos.observations, demos.actions, corruption)
    assert math.isfinite(nll)  # π_ε gives every action it took a positive probability
    assert nll == pytest.approx(plain_loop_nll(demos.observations, demos.actions, corruption),
                                rel=1e-12, abs=1e-15)
    if corruption is None:
        assert nll == 0.0 and math.copysign(1, nll) == 1  # +0, not −0, in the table


def test_demonstrator_nll_is_infinite_for_an_action_the_demonstrator_never_takes():
    # θ = −0.1 < 0: the expert pushes left (0), and always-left never pushes right (1).
    observations, actions = np.array([[0.0, 0.0, -0.1, 0.0]]), np.array([1])
    assert demonstrator_nll(observations, actions, Corruption(0.3, "constant")) == math.inf


# --- the run: structure, determinism, interruption ------------------------------------------


def test_rows_hold_every_key_for_every_part_and_seed(small):
    assert small.seeds == [0, 1, 2]
    assert all(tuple(row) == ROW_KEYS for row in small.rows)
    counted = {}
    for row in small.rows:
        counted[row["part"], row["method"]] = counted.get((row["part"], row["method"]), 0) + 1
    # Per seed: the expert; BC at ε = 0 and 0.5; RW-BC at 0.5 only; one cut; REINFORCE.
    assert counted == {("expert", "scripted expert"): 3, ("corruption", "behaviour cloning"): 6,
                       ("corruption", "reward-weighted BC"): 3,
                       ("compounding", "behaviour cloning"): 3, ("reinforce", "REINFORCE"): 3}
    assert set(small.curves) == {0, 1, 2}
    assert all(len(steps) == len(values) == 1 for steps, values in small.curves.values())


def test_every_dataset_has_at_least_demo_steps_steps_and_part_2_its_cut(small):
    assert (cells(small, "examples", "corruption") >= SMALL.demo_steps).all()
    # Two expert episodes cut at k = 10 steps: 20 examples (expert episodes last 500 steps).
    assert (cells(small, "examples", "compounding") == 2 * 10).all()


def test_the_scripted_expert_row_is_the_reference(small):
    assert (cells(small, "return_greedy", "expert") == 500).all()
    assert (cells(small, "expert_accuracy", "expert") == 1).all()


def test_same_config_same_rows():
    first, again = run_contrast(MICRO), run_contrast(MICRO)
    assert len(first.rows) == 2 * 5  # expert, BC, RW-BC, one cut, REINFORCE per seed
    for row, other in zip(first.rows, again.rows, strict=True):
        assert row.keys() == other.keys()
        for key in row:
            same_nan = isinstance(row[key], float) and math.isnan(row[key]) and math.isnan(
                other[key])
            assert row[key] == other[key] or same_nan, key
    assert first.curves == again.curves


def test_the_thread_count_is_restored():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_contrast(dataclasses.replace(MICRO, seeds=2, compounding_steps=(),
                                         reinforce_steps=0))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def interrupt_seed(monkeypatch, seed):
    compounding = contrast._Seed.compounding

    def interrupted(self, steps):
        if self.seed == seed:
            raise KeyboardInterrupt
        return compounding(self, steps)

    monkeypatch.setattr(contrast._Seed, "compounding", interrupted)


def test_ctrl_c_after_a_seed_returns_the_seeds_finished(monkeypatch):
    interrupt_seed(monkeypatch, seed=1)
    with pytest.warns(UserWarning, match=r"interrupted: reporting the 1 seed\(s\) finished"):
        result = run_contrast(dataclasses.replace(MICRO, reinforce_steps=0))
    assert result.seeds == [0] and {row["seed"] for row in result.rows} == {0}
    assert "over 1 seeds (0)" in result.table()


def test_ctrl_c_in_the_first_seed_propagates(monkeypatch):
    interrupt_seed(monkeypatch, seed=0)
    with pytest.raises(KeyboardInterrupt):
        run_contrast(dataclasses.replace(MICRO, reinforce_steps=0))


def test_table_has_a_section_per_part_with_intervals(small):
    table = small.table()
    for heading in ("Scripted expert", "1. Behaviour cloning fits what was done",
                    "2. Compounding error", "3. REINFORCE from scratch",
                    "4. Reward-weighted BC"):
        assert heading in table
    assert "Student-t interval over 3 seeds (0, 1, 2)" in table and " ± " in table
    assert "0/3" in table  # one REINFORCE update solves nothing: counted, not hidden
    skipped = dataclasses.replace(small, config=dataclasses.replace(
        SMALL, compounding_steps=(), reinforce_steps=0, fractions=(0.0,)))
    for heading in ("2. Compounding", "3. REINFORCE", "4. Reward-weighted"):
        assert heading not in skipped.table()


def test_figure_has_four_labelled_panels_and_saves_as_png(small, tmp_path):
    figure = small.figure()
    assert isinstance(figure, Figure) and len(figure.axes) == 4
    for ax in figure.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    [path] = save_figure(figure, tmp_path / "contrast.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_result_is_what_the_cli_gets(small):
    assert isinstance(small, ContrastResult) and small.config == SMALL
    assert small.wall_time > 0


# --- the experiment's directions (issue 5's acceptance) -------------------------------------


def assert_directions(result):
    clean = cells(result, "return_greedy", "corruption", method="behaviour cloning", fraction=0)
    corrupted = cells(result, "return_greedy", "corruption", method="behaviour cloning",
                      fraction=0.5)
    assert clean.mean() >= 475, clean  # BC on clean expert demonstrations solves CartPole
    assert corrupted.mean() < clean.mean(), (corrupted, clean)
    sampled = cells(result, "return_sampled", "corruption", method="behaviour cloning",
                    fraction=0.5)
    assert sampled.mean() < 100, sampled  # the sampled clone acts like the demonstrator (~24)
    # ... while its validation NLL is within 0.1 nats of the demonstrator's own (the floor):
    # MLE fitted what was done (measured gaps: 0.02–0.05 nats).
    gap = (cells(result, "validation_nll", "corruption", method="behaviour cloning",
                 fraction=0.5)
           - cells(result, "demonstrator_nll", "corruption", method="behaviour cloning",
                   fraction=0.5))
    assert (np.abs(gap) < 0.1).all(), gap
    # Compounding error: on expert states like its 10-step demonstrations the clone is
    # accurate (measured 0.88–0.93), yet its return is far below the full-data clone's.
    accuracy = cells(result, "expert_accuracy", "compounding", steps_per_episode=10)
    short = cells(result, "return_greedy", "compounding", steps_per_episode=10)
    assert accuracy.mean() >= 0.8, accuracy
    assert short.mean() < 300 < clean.mean(), short


def test_bc_solves_from_clean_demonstrations_and_fails_from_corrupted_ones(small):
    assert len(small.seeds) == 3
    assert_directions(small)


@pytest.mark.slow
def test_the_default_run_shows_every_direction_and_reinforce_solves():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run_contrast(ContrastConfig())
    assert_directions(result)
    solved = cells(result, "solved", "reinforce")
    assert (solved == 1).all(), solved  # REINFORCE needs no demonstrations to reach 475
    assert (cells(result, "return_greedy", "reinforce") >= 475).all()
    assert result.table().count(" ± ") > 40
    assert len(result.figure().axes) == 4
