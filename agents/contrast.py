"""The MLE-vs-RL contrast on CartPole-v1: what "maximise the likelihood of what was done" misses.

Three learners share one network (the MLP of ``ReinforceConfig``'s ``hidden_sizes`` and
``activation``) and one env; they differ only in the weight each step gets in the loss

    behaviour cloning (BC)        J(θ) = −Σ_i log π_θ(a_i|s_i) / n              (demonstrations)
    reward-weighted BC (RW-BC)    J(θ) = −Σ_i G_i log π_θ(a_i|s_i) / Σ_i G_i    (demonstrations)
    REINFORCE                     J(θ) = −Σ_t Ψ_t log π_θ(a_t|s_t)             (its own samples)

with G_i = Σ_{k≥0} γ^k r_{i+k} the demonstrator's return-to-go from step i (γ = REINFORCE's
by default) and Ψ_t REINFORCE's weights (``agents.reinforce.policy_gradient_weights``):
RW-BC is the REINFORCE loss on someone else's data, the bridge between the two.

:func:`run_contrast` measures, for each of ``seeds`` seeds:

1. **MLE fits what was done.** The scripted expert (``agents.demonstrations.cartpole_expert``)
   demonstrates with a fraction ε of its actions replaced by a bad one; the demonstrator's
   policy is then π_ε(a|s) = (1 − ε)·[a = e(s)] + ε·q(a), e the expert's rule, q the bad
   behaviour (``"constant"``: always push left, the default; ``"random"``: uniform). BC's
   validation NLL on the corrupted data sits at the demonstrator's own, −mean log π_ε(a|s)
   (the best any model can do in expectation): the fit is excellent, and the clone acts
   like the corrupted demonstrator, not like the expert. The default is always-left because
   it shows the point under greedy evaluation too: with random replacements the expert's
   action stays the most likely one in every state (1 − ε/2 > ε/2), so the argmax of a
   perfect fit *is* the expert, and only the sampled policy degrades.
2. **Compounding error.** BC on the first k steps of a few expert episodes classifies
   held-out expert states from the same steps well (the i.i.d. promise of supervised
   learning), yet its return is low: its own mistakes take it to states the demonstrations
   never showed (Ross & Bagnell 2010: cost ≤ T²·per-step error).
3. **REINFORCE from scratch** (``agents.reinforce.train``): no demonstrations, and it reaches
   the env's threshold (475).
4. **RW-BC** on the corrupted demonstrations: a bad action tends to shorten the episode, so
   its G_i is smaller and π shifts towards the good action — how much it recovers is
   measured, not promised.

Returns are greedy (argmax π) and sampled (a ∼ π) over ``eval_episodes`` evaluation
episodes each, reset with seeds no demonstration used. Every dataset holds at least ``demo_steps``
steps of whole episodes (a worse demonstrator runs more, shorter episodes), and every fit
takes about ``bc_updates`` gradient steps, so the data size and the optimisation budget do
not vary with ε. The report, :class:`ContrastResult` (rows, table, figure, mean ± the 95 %
Student-t interval over seeds of :func:`t_interval`), lives in ``agents.contrast_report``
and is re-exported here.

References: Pomerleau (1991), ALVINN; Ross & Bagnell (2010), "Efficient reductions for
imitation learning"; Peters & Schaal (2007), "Reinforcement learning by reward-weighted
regression"; Williams (1992), REINFORCE.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

from agents.contrast_report import BC, ENV_ID, ROW_KEYS, RW_BC, ContrastResult, t_interval
from agents.demonstrations import Corruption, Demonstrations, cartpole_expert, make_demonstrations
from agents.mle import SupervisedConfig, behaviour_cloning
from agents.reinforce import ReinforceConfig, make_vector_env, train
from rlbasics._numbers import is_integer, is_real
from rlbasics.policies import CategoricalPolicy, Policy
from rlbasics.rollout import Collector
from rlbasics.trajectory import Trajectory

__all__ = [
    "ROW_KEYS",
    "ContrastConfig",
    "ContrastResult",
    "demonstrator_nll",
    "run_contrast",
    "t_interval",
]

# Evaluation env i resets with seed 10 000 + seed + i; a demonstration, with seed itself.
_EVAL_SEED = 10_000


@dataclass(frozen=True)
class ContrastConfig:
    """The size of the contrast experiment; the defaults take 1–2 minutes on 2 shared cores.

    Attributes:
        seeds: number of seeds, ≥ 2 (the interval needs two; 3 is the least worth reporting).
        first_seed: seeds are first_seed, …, first_seed + seeds − 1, ≥ 0.
        fractions: the corruption fractions ε, each in [0, 1), distinct, at least one.
        corruption: the bad behaviour, ``"constant"`` (always push left) or ``"random"``.
        demo_steps: each corrupted or clean dataset holds ≥ this many steps, ≥ 1.
        compounding_episodes: expert episodes cut short for part 2, ≥ 1.
        compounding_steps: the cut k (steps kept per episode) of each part-2 fit, each in
            [1, 500]; ``()`` skips part 2.
        reinforce_steps: REINFORCE's env-step budget (it stops at 475), ≥ 0; 0 skips part 3.
        reinforce_eval_every: REINFORCE checks the threshold (its greedy mean over
            ``ReinforceConfig.eval_episodes`` episodes) every this many updates, ≥ 1.
        eval_episodes: evaluation episodes per policy, ≥ 1.
        hidden_sizes: the MLP of every learner; defaults to ``ReinforceConfig``'s.
        gamma: γ in [0, 1] of the returns-to-go that weight RW-BC; defaults to REINFORCE's.
        bc_updates: gradient steps per BC fit, about (whole epochs), ≥ 1.
        batch_size: examples per BC gradient step, ≥ 1.
        lr: Adam's learning rate for BC, a finite number > 0.
        validation_fraction: share of each corrupted dataset held out for the validation
            NLL and for choosing the best epoch, in (0, 1).

    >>> ContrastConfig().hidden_sizes == ReinforceConfig.hidden_sizes
    True
    >>> ContrastConfig(fractions=(0.0, 1.5))
    Traceback (most recent call last):
    ...
    ValueError: fractions must be distinct numbers in [0, 1), at least one, got (0.0, 1.5)
    """

    seeds: int = 3
    first_seed: int = 0
    fractions: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5)
    corruption: Literal["constant", "random"] = "constant"
    demo_steps: int = 1000
    compounding_episodes: int = 2
    compounding_steps: tuple[int, ...] = (10, 20, 50)
    reinforce_steps: int = 50_000
    reinforce_eval_every: int = 5
    eval_episodes: int = 10
    hidden_sizes: tuple[int, ...] = ReinforceConfig.hidden_sizes
    gamma: float = ReinforceConfig.gamma
    bc_updates: int = 100
    batch_size: int = 128
    lr: float = 0.02
    validation_fraction: float = 0.2

    def __post_init__(self) -> None:
        def fail(name: str, allowed: str) -> None:
            raise ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}")

        minimum = {"seeds": 2, "first_seed": 0, "demo_steps": 1, "compounding_episodes": 1,
                   "reinforce_steps": 0, "reinforce_eval_every": 1, "eval_episodes": 1,
                   "bc_updates": 1, "batch_size": 1}
        for name, low in minimum.items():
            if not (is_integer(getattr(self, name)) and getattr(self, name) >= low):
                fail(name, f"an integer >= {low}")
        fractions = self.fractions
        if not (isinstance(fractions, tuple) and fractions
                and all(is_real(f) and 0 <= f < 1 for f in fractions)
                and len(set(fractions)) == len(fractions)):
            fail("fractions", "distinct numbers in [0, 1), at least one")
        if self.corruption not in ("constant", "random"):
            fail("corruption", "'constant' or 'random'")
        steps = self.compounding_steps
        if not (isinstance(steps, tuple) and all(is_integer(k) and 1 <= k <= 500 for k in steps)):
            fail("compounding_steps", "a tuple of integers in [1, 500] (or ())")
        sizes = self.hidden_sizes
        if not (isinstance(sizes, tuple) and all(is_integer(s) and s >= 1 for s in sizes)):
            fail("hidden_sizes", "a tuple of integers >= 1")
        if not (is_real(self.gamma) and 0 <= self.gamma <= 1):
            fail("gamma", "a number in [0, 1]")
        if not (is_real(self.lr) and 0 < self.lr < math.inf):
            fail("lr", "a finite number > 0")
        if not (is_real(self.validation_fraction) and 0 < self.validation_fraction < 1):
            fail("validation_fraction", "a number in (0, 1)")


# ---------------------------------------------------------------------------- the floor


def demonstrator_nll(
    observations: np.ndarray, actions: np.ndarray, corruption: Corruption | None
) -> float:
    """−(1/n) Σ_i log π_ε(a_i|s_i), the corrupted expert's own NLL of its data (nats).

    π_ε(a|s) = (1 − ε)·[a = e(s)] + ε·q(a), e = ``cartpole_expert``, q(a) = [a = c] for the
    constant action c or 1/2 for uniform over CartPole's two actions; ε = 0 without a
    corruption. No model can beat it in expectation: it is the entropy of the data's labels
    given the states.

    >>> observations = np.array([[0, 0, 0.1, 0], [0, 0, 0.1, 0], [0, 0, -0.1, 0]])
    >>> actions = np.array([1, 0, 0])  # e = right, right, left: −(log ½ + log ½ + log 1)/3
    >>> round(demonstrator_nll(observations, actions, Corruption(0.5, "constant")), 4)
    0.4621
    """
    expert = cartpole_expert(observations)
    fraction = 0.0 if corruption is None else corruption.fraction
    if corruption is None or corruption.behaviour == "random":
        bad = np.full(len(actions), 0.5)
    else:
        bad = (actions == corruption.action).astype(np.float64)
    probability = (1 - fraction) * (actions == expert) + fraction * bad
    with np.errstate(divide="ignore"):  # an action π_ε cannot take costs +inf
        return float(np.log(1 / probability).mean())


# ---------------------------------------------------------------------------- one seed


@dataclass(frozen=True)
class _Play:
    """What an actor did in the evaluation episodes."""

    mean_return: float
    expert_agreement: float  # share of its own steps where it chose the expert's action
    observations: np.ndarray  # [n, 4], the states it visited, episodes end to end
    time: np.ndarray  # [n], each state's step index within its episode


def _play(trajectories: Sequence[Trajectory]) -> _Play:
    observations = np.concatenate([t.observations[:-1] for t in trajectories])
    actions = np.concatenate([t.actions for t in trajectories])
    return _Play(
        mean_return=float(np.mean([t.total_reward for t in trajectories])),
        expert_agreement=float(np.mean(actions == cartpole_expert(observations))),
        observations=observations,
        time=np.concatenate([np.arange(len(t)) for t in trajectories]),
    )


def _actor(policy: CategoricalPolicy, episodes: int, seed: int
           ) -> Callable[[np.ndarray], np.ndarray]:
    """argmax π in the first ``episodes`` envs, a ∼ π (a generator seeded with ``seed``) in
    the others: both evaluations share each vector step, which is what costs."""
    generator = torch.Generator().manual_seed(seed)

    def act(observations: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = policy.action_logits(observations)
            probabilities = torch.softmax(logits, dim=-1)
            actions = torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)
            actions[:episodes] = logits[:episodes].argmax(dim=-1)
        return actions.numpy()

    return act


class _Seed:
    """The measurements of one seed; each method adds its rows to ``rows``."""

    def __init__(self, config: ContrastConfig, seed: int, env: gym.vector.VectorEnv) -> None:
        self.config, self.seed, self.env = config, seed, env
        self.spaces = (env.single_observation_space, env.single_action_space)
        self.eval_seed = _EVAL_SEED + seed
        self.rows: list[dict[str, Any]] = []
        self.curve: tuple[list[float], list[float]] = ([], [])
        self._recorded: dict[tuple[int, float], Demonstrations] = {}
        # Held-out expert states: the expert's own evaluation episodes.
        self.expert = _play(Collector(env, cartpole_expert, seed=self.eval_seed).collect(
            episodes=2 * config.eval_episodes))
        self._row("expert", "scripted expert", return_greedy=self.expert.mean_return,
                  expert_accuracy=1.0, own_accuracy=1.0)

    def _row(self, part: str, method: str, **values: float) -> None:
        row: dict[str, Any] = dict.fromkeys(ROW_KEYS, math.nan)
        row.update(part=part, method=method, seed=self.seed, **values)
        self.rows.append(row)

    def _record(self, episodes: int, fraction: float) -> Demonstrations:
        """``episodes`` episodes of the expert, corrupted by ``fraction`` (memoised: part 2
        reuses part 1's clean episodes, identical for the same seed)."""
        key = (episodes, fraction)
        if key not in self._recorded:
            corruption = Corruption(fraction, self.config.corruption) if fraction else None
            self._recorded[key] = make_demonstrations(
                ENV_ID, cartpole_expert, episodes, self.seed, corruption,
                gamma=float(self.config.gamma), policy_name="cartpole_expert")
        return self._recorded[key]

    def _demonstrations(self, fraction: float) -> Demonstrations:
        """Whole episodes, at least ``demo_steps`` steps of them."""
        episodes = math.ceil(self.config.demo_steps / 500)  # the expert's last 500 steps
        while len(demos := self._record(episodes, fraction)) < self.config.demo_steps:
            episodes = math.ceil(1.1 * episodes * self.config.demo_steps / len(demos))
        return demos

    def _fit(self, demos: Demonstrations, rows: np.ndarray, weights: np.ndarray | None,
             validation: bool) -> tuple[Policy, np.ndarray]:
        """BC (RW-BC with ``weights``) on ``rows`` of ``demos``: (policy, validation rows)."""
        config = self.config
        fraction = config.validation_fraction if validation else 0.0
        batches = math.ceil(len(rows) * (1 - fraction) / config.batch_size)
        epochs = math.ceil(config.bc_updates / batches)
        supervised = SupervisedConfig(
            lr=config.lr, epochs=epochs, batch_size=config.batch_size,
            validation_fraction=fraction, patience=epochs,  # keep the best epoch, never stop
            hidden_sizes=config.hidden_sizes, activation=ReinforceConfig.activation,
            seed=self.seed)
        policy, history = behaviour_cloning(
            demos.observations[rows], demos.actions[rows], *self.spaces, config=supervised,
            weights=None if weights is None else weights[rows])
        return policy, rows[history.validation_indices]

    def _evaluate(self, policy: CategoricalPolicy, steps: int = 500) -> dict[str, float]:
        """Returns, and accuracy on the held-out expert states of steps t < ``steps``."""
        episodes = self.config.eval_episodes
        trajectories = Collector(self.env, _actor(policy, episodes, self.seed),
                                 seed=self.eval_seed).collect(episodes=2 * episodes)
        greedy, sampled = _play(trajectories[:episodes]), _play(trajectories[episodes:])
        states = self.expert.observations[self.expert.time < steps]
        with torch.inference_mode():
            chosen = policy.deterministic(states).numpy()
        return {"return_greedy": greedy.mean_return, "return_sampled": sampled.mean_return,
                "expert_accuracy": float(np.mean(chosen == cartpole_expert(states))),
                "own_accuracy": greedy.expert_agreement}

    def corruption(self, fraction: float) -> None:
        """Part 1 (BC) and part 4 (RW-BC, for ε > 0) on one corrupted dataset."""
        demos = self._demonstrations(fraction)
        methods = [(BC, None)] + ([(RW_BC, demos.returns_to_go)] if fraction else [])
        for method, weights in methods:
            policy, validation = self._fit(demos, np.arange(len(demos)), weights, True)
            observations, actions = demos.observations[validation], demos.actions[validation]
            with torch.inference_mode():
                nll = -policy.log_prob(observations, actions).mean().item()
                accuracy = np.mean(policy.deterministic(observations).numpy() == actions)
            self._row("corruption", method, fraction=fraction, examples=len(demos),
                      demonstrator_return=float(demos.episode_returns.mean()),
                      validation_nll=nll, validation_accuracy=float(accuracy),
                      demonstrator_nll=demonstrator_nll(observations, actions, demos.corruption),
                      **self._evaluate(policy))

    def compounding(self, steps: int) -> None:
        """Part 2: BC on the first ``steps`` steps of each of a few expert episodes."""
        demos = self._record(self.config.compounding_episodes, 0.0)
        starts = np.flatnonzero(np.r_[True, np.diff(demos.episode_ids) > 0])
        time_in_episode = np.arange(len(demos)) - starts[demos.episode_ids]
        rows = np.flatnonzero(time_in_episode < steps)
        policy, _ = self._fit(demos, rows, None, validation=False)
        self._row("compounding", BC, steps_per_episode=steps, examples=len(rows),
                  **self._evaluate(policy, steps))

    def reinforce(self) -> None:
        """Part 3: REINFORCE from scratch, stopped at the env's threshold."""
        config = self.config
        result = train(ReinforceConfig(
            seed=self.seed, total_steps=config.reinforce_steps, hidden_sizes=config.hidden_sizes,
            activation=ReinforceConfig.activation, eval_every=config.reinforce_eval_every))
        history = result.history
        evaluated = [i for i, value in enumerate(history["eval_mean"]) if not math.isnan(value)]
        self.curve = ([history["env_steps"][i] for i in evaluated],
                      [history["eval_mean"][i] for i in evaluated])
        solved = result.solved_at is not None
        self._row("reinforce", "REINFORCE", solved=float(solved),
                  env_steps=history["env_steps"][result.solved_at] if solved else math.nan,
                  **self._evaluate(result.policy))


# ---------------------------------------------------------------------------- the entry point


def _run_seed(config: ContrastConfig, seed: int, tick: Callable[[], object]
              ) -> tuple[list[dict[str, Any]], tuple]:
    """All parts for one seed: (rows, REINFORCE's curve); ``tick()`` after each part."""
    env = make_vector_env(ENV_ID, 2 * config.eval_episodes)  # greedy, then sampled
    try:
        measured = _Seed(config, seed, env)
        work = [(measured.corruption, fraction) for fraction in config.fractions]
        work += [(measured.compounding, steps) for steps in config.compounding_steps]
        work += [(lambda _: measured.reinforce(), None)] if config.reinforce_steps else []
        for part, argument in work:
            part(argument)
            tick()
    finally:
        env.close()
    return measured.rows, measured.curve


def run_contrast(config: ContrastConfig, *, progress: bool = False) -> ContrastResult:
    """Run the four parts of the contrast for every seed (see the module docstring).

    Each seed s seeds its demonstrations, fits and REINFORCE run; evaluation episodes use
    reset seeds 10 000 + s, 10 000 + s + 1, …: same config, same machine → the same rows.
    Torch runs on one thread meanwhile (tiny networks: a thread pool only adds waiting),
    restored afterwards. Ctrl-C after the first seed has finished returns the finished
    seeds, with a warning.

    Args:
        config: a :class:`ContrastConfig`.
        progress: show a tqdm bar over the parts and seeds.

    Returns:
        A :class:`ContrastResult`: ``.table()``, ``.rows``, ``.figure()``.
    """
    if not isinstance(config, ContrastConfig):
        raise TypeError(f"config must be a ContrastConfig, got {type(config).__name__}")
    start = time.perf_counter()
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    finished: dict[int, tuple[list[dict[str, Any]], tuple]] = {}
    parts = len(config.fractions) + len(config.compounding_steps) + bool(config.reinforce_steps)
    bar = tqdm(total=config.seeds * parts, desc="contrast", disable=not progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in seeds:
            finished[seed] = _run_seed(config, seed, bar.update)
    except KeyboardInterrupt:
        if not finished:
            raise
        warnings.warn(f"interrupted: reporting the {len(finished)} seed(s) finished",
                      stacklevel=2)
    finally:
        bar.close()
        torch.set_num_threads(threads)
    done = sorted(finished)
    rows = [row for seed in done for row in finished[seed][0]]
    curves = {seed: finished[seed][1] for seed in done if config.reinforce_steps}
    return ContrastResult(config, rows, curves, done, time.perf_counter() - start)
