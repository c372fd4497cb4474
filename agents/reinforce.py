"""REINFORCE: maximise J(θ) = E_{τ∼p_θ}[G(τ)] by stochastic gradient ascent on the score function.

    ∇J(θ) = E_τ[ Σ_t ∇_θ log π_θ(a_t|s_t) · Ψ_t ]                (Williams 1992)

The loop, top to bottom (`Reinforce.update`): collect a batch from N vector envs → the
weights Ψ_t (`policy_gradient_weights`) → the surrogate loss −Σ log π · Ψ → one optimiser
step → log. The classic variants are switches of `ReinforceConfig`:

=========================  ======================================  =========================
switch                     Ψ_t                                     unbiased for ∇J?
=========================  ======================================  =========================
weights="total_return"     G(τ) = Σ_k γ^k r_k (the literal J)       yes
weights="reward_to_go"     G_t = Σ_{k≥t} γ^{k−t} r_k                yes (causality)
baseline="mean"            Ψ_t − mean of the *other* episodes' Ψ    yes (leave-one-out)
baseline="value"           Ψ_t − V_φ(s_t), V_φ fitted to G_t        yes (V_φ from past data)
discount_weighting=True    γ^t · Ψ_t (t counted from the start)     yes, for γ < 1
discount_weighting=False   Ψ_t (common practice, the default)       no: drops γ^t
normalize_advantages       (Ψ − mean Ψ) / std Ψ over the batch       no (a scale and a shift)
=========================  ======================================  =========================

With γ < 1 the gradient of the discounted objective weights step t by γ^t (Thomas 2014,
"Bias in natural actor-critic algorithms"); practice drops the factor, which optimises the
undiscounted state distribution instead — a biased but better-behaved direction.
`tests/test_reinforce_estimator.py` proves each row of this table against `rlbasics.exact`.

References: Williams (1992), "Simple statistical gradient-following algorithms for
connectionist reinforcement learning"; Sutton & Barto (2018), ch. 13; Spinning Up, "Vanilla
Policy Gradient".
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.policy_gradient import policy_gradient_weights
from agents.reinforce_config import ReinforceConfig
from rlbasics import losses
from rlbasics.environments import env_spec, evaluate, make_vector_env
from rlbasics.networks import ValueMLP, make_value_function
from rlbasics.policies import Policy, make_policy
from rlbasics.rollout import Collector
from rlbasics.runs import atomic_torch_save

__all__ = [
    "Reinforce",
    "ReinforceConfig",
    "TrainResult",
    "env_spec",
    "evaluate",
    "load_policy",
    "make_vector_env",
    "policy_gradient_weights",
    "save_policy",
    "train",
]


@dataclass
class TrainResult:
    """What `train` returns: the trained policy (and V_φ), the per-update history, the config."""

    policy: Policy
    value_function: ValueMLP | None
    history: dict[str, list[float]]
    config: ReinforceConfig
    solved_at: int | None = None
    """Index of the first update whose evaluation reached ``stop_return`` (None: never)."""
    episodes: dict[str, list[float]] = field(default_factory=dict)
    """One entry per finished training episode: env_step, episode, return, length, wall_time."""


class _Actor:
    """The collector's policy: draws actions without log-probs (the update recomputes them
    from the batch, under autograd) and keeps the raw actions (a Gaussian policy's unclipped
    draws) for them. `Reinforce.update` runs the whole collection under inference mode."""

    def __init__(self, policy: Policy, generator: torch.Generator) -> None:
        self.policy, self.generator, self.raw_actions = policy, generator, []

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        actions = self.policy.act(observations, self.generator)
        self.raw_actions.append(actions)
        return self.policy.to_env(actions)


class Reinforce:
    """One REINFORCE learner: its envs, networks, optimisers and counters.

    ``update()`` runs one batch-and-step and returns its log row; `train` loops it. The
    object is the unit the command line checkpoints and resumes.
    """

    def __init__(self, config: ReinforceConfig) -> None:
        self.config = config
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        torch.manual_seed(config.seed)
        self.device = torch.device(config.device)
        self.env = make_vector_env(config.env_id, config.num_envs)
        self.policy = make_policy(
            self.env.single_observation_space, self.env.single_action_space,
            config.hidden_sizes, config.activation,
        ).to(self.device)
        # fused: one kernel per step for all parameters (the per-tensor loop measured ~2.5×
        # slower for these small networks); the same Adam update.
        fused = True if self.device.type in ("cpu", "cuda") else None
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr, fused=fused)
        self.value_function = self.value_optimizer = None
        if config.baseline == "value":
            self.value_function = make_value_function(
                self.env.single_observation_space, config.hidden_sizes, config.activation
            ).to(self.device)
            self.value_optimizer = torch.optim.Adam(
                self.value_function.parameters(), lr=config.value_lr, fused=fused
            )
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.actor = _Actor(self.policy, self.generator)
        self.collector = Collector(self.env, self.actor, seed=config.seed)
        self.eval_env = None
        if config.eval_every:
            self.eval_env = make_vector_env(config.env_id, config.eval_episodes)
        stop = config.stop_return
        if stop is None:
            stop = env_spec(config.env_id).reward_threshold
        self.stop_return = math.nan if stop is None else float(stop)
        self.updates = self.env_steps = self.episodes_done = 0
        self.train_time = 0.0
        self.steps_into_episode = np.zeros(config.num_envs, dtype=np.int64)
        # Every action sent to the envs, one [N, T] tensor per update: replaying them from the
        # seeded reset restores the envs' exact state on resume, for any Gymnasium env.
        self.env_actions: list[torch.Tensor] = []

    def _values(self, observations: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            flat = observations.reshape(-1, *observations.shape[2:])
            values = self.value_function(flat).cpu().numpy().astype(np.float64)
        return values.reshape(observations.shape[:2])

    def update(self) -> dict[str, float]:
        """Collect one batch, take one gradient step, return the log row of this update."""
        config = self.config
        start = time.perf_counter()
        if config.anneal_lr:
            remaining = max(0.0, 1.0 - self.env_steps / config.total_steps)
            for optimizer, lr in ((self.optimizer, config.lr),
                                  (self.value_optimizer, config.value_lr)):
                for group in optimizer.param_groups if optimizer is not None else ():
                    group["lr"] = lr * remaining
        self.actor.raw_actions.clear()
        with torch.inference_mode():  # once per batch, not per policy call
            if config.episodes_per_update:
                batch = self.collector.collect(episodes=config.episodes_per_update,
                                               as_rollout=True)
            else:
                batch = self.collector.collect(steps=config.steps_per_update)
        raw_actions = torch.stack(self.actor.raw_actions, dim=1)  # [N, T, ...]

        values = bootstrap = None
        if self.value_function is not None:
            values = self._values(batch.observations)
            bootstrap = self._values(batch.next_observations)
        psi, returns, _ = policy_gradient_weights(
            batch.rewards, batch.terminated, batch.truncated, batch.valid,
            gamma=config.gamma, weights=config.weights, baseline=config.baseline,
            discount_weighting=config.discount_weighting,
            normalize=config.normalize_advantages, values=values, bootstrap=bootstrap,
            steps_before=None if config.episodes_per_update else self.steps_into_episode,
        )
        if not config.episodes_per_update:
            self._count_episode_steps(batch)

        # A batch may hold no transition at all (one step per env, all of them auto-reset
        # steps): then there is nothing to learn from, and the update only collects.
        loss = entropy = grad_norm = value_loss = math.nan
        if batch.valid.any():
            loss, entropy, grad_norm, value_loss = self._learn(batch, raw_actions, psi, returns)

        self.train_time += time.perf_counter() - start
        self.updates += 1
        self.env_steps += batch.num_envs * batch.num_steps
        finished = batch.episode_returns
        self.last_batch = batch
        self.env_actions.append(torch.from_numpy(batch.actions))
        return {
            "update": self.updates,
            "env_steps": self.env_steps,
            "train_time": self.train_time,
            "loss": loss,
            "value_loss": value_loss,
            "entropy": entropy,
            "grad_norm": grad_norm,
            "lr": self.optimizer.param_groups[0]["lr"],  # the rate this step used
            "episodes": len(finished),
            "mean_return": float(finished.mean()) if len(finished) else math.nan,
        }

    def _learn(
        self, batch: Any, raw_actions: torch.Tensor, psi: np.ndarray, returns: np.ndarray
    ) -> tuple[float, float, float, float]:
        """One gradient step on the surrogate −Σ log π · Ψ (and on V_φ's MSE), from a batch
        with at least one valid step; returns (loss, entropy, grad_norm, value_loss)."""
        config = self.config
        valid = torch.from_numpy(batch.valid)
        observations = torch.as_tensor(batch.observations[batch.valid], device=self.device)
        log_probs = self.policy.log_prob(observations, raw_actions[valid].to(self.device))
        psi_valid = torch.as_tensor(psi[batch.valid], dtype=log_probs.dtype, device=self.device)
        # Per episode for whole-episode batches (the textbook Monte-Carlo average); per step
        # otherwise, where episodes are cut and only the direction matters to Adam.
        denominator = config.episodes_per_update or len(psi_valid)
        loss = losses.policy_gradient_loss(log_probs, psi_valid, reduction="sum") / denominator
        entropy = math.nan
        if config.entropy_coef:
            entropies = self.policy.entropy(observations)
            loss = loss + losses.entropy_bonus(entropies, config.entropy_coef)
            entropy = entropies.mean().item()
        self.optimizer.zero_grad()
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(
            self.policy.parameters(), config.max_grad_norm, foreach=True
        ))
        self.optimizer.step()

        value_loss = math.nan
        if self.value_function is not None:
            targets = torch.as_tensor(returns[batch.valid], dtype=torch.float32,
                                      device=self.device)
            for _ in range(config.value_steps):
                fit = losses.mse(self.value_function(observations), targets)
                self.value_optimizer.zero_grad()
                fit.backward()
                self.value_optimizer.step()
            value_loss = fit.item()
        return loss.item(), entropy, grad_norm, value_loss

    def _count_episode_steps(self, batch: Any) -> None:
        """Carry each row's steps-so-far of its unfinished episode into the next batch (γ^t
        counts t from the episode's start, which may lie in an earlier batch): the valid
        steps after the row's last end, plus the carried count if the row has no end."""
        ended = (batch.terminated | batch.truncated) & batch.valid
        steps = batch.num_steps
        has_end = ended.any(axis=1)
        last_end = np.where(has_end, steps - 1 - np.argmax(ended[:, ::-1], axis=1), -1)
        after = np.arange(steps) > last_end[:, None]
        since = np.count_nonzero(batch.valid & after, axis=1)
        self.steps_into_episode = np.where(has_end, 0, self.steps_into_episode) + since

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of everything the next update depends on, taken between updates:
        weights, optimiser states, the sampling generator, counters, and the actions sent to
        the envs. Tensors and plain values only, so ``torch.load(weights_only=True)`` reads it.
        """
        state = {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "counters": {"updates": self.updates, "env_steps": self.env_steps,
                         "episodes_done": self.episodes_done, "train_time": self.train_time},
            "steps_into_episode": torch.from_numpy(self.steps_into_episode),
            "env_actions": list(self.env_actions),
        }
        if self.value_function is not None:
            state["value_function"] = self.value_function.state_dict()
            state["value_optimizer"] = self.value_optimizer.state_dict()
        return copy.deepcopy(state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a `state_dict` snapshot of a learner with the same config: the next
        `update` is the one the snapshot's learner would have run next.

        Shapes are checked before anything is copied (a snapshot of a policy for other spaces
        raises ``ValueError`` and leaves this learner untouched). The envs are brought back by
        replaying the recorded actions from the seeded reset.
        """
        modules = [("policy", self.policy), ("value_function", self.value_function)]
        for name, module in modules:
            if module is None:
                continue
            if name not in state:
                raise ValueError(f"the snapshot has no {name!r} (was it saved with another "
                                 "baseline?)")
            expected = {key: tuple(value.shape) for key, value in module.state_dict().items()}
            saved = {key: tuple(value.shape) for key, value in state[name].items()}
            if saved != expected:
                raise ValueError(
                    f"the snapshot's {name} does not fit this env's spaces: parameter shapes "
                    f"{saved} != {expected}"
                )
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.value_function is not None:
            self.value_function.load_state_dict(state["value_function"])
            self.value_optimizer.load_state_dict(state["value_optimizer"])
        self.generator.set_state(state["generator"])
        counters = state["counters"]
        self.updates, self.env_steps = counters["updates"], counters["env_steps"]
        self.episodes_done, self.train_time = counters["episodes_done"], counters["train_time"]
        self.steps_into_episode = state["steps_into_episode"].numpy().copy()
        self.env_actions = list(state["env_actions"])
        replay = (actions.numpy() for batch in self.env_actions for actions in batch.unbind(1))
        self.collector = Collector(self.env, lambda _: next(replay), seed=self.config.seed)
        for batch in self.env_actions:
            self.collector.collect(steps=batch.shape[1])
        self.collector.policy = self.actor

    def evaluate(self) -> np.ndarray:
        """The returns of ``eval_episodes`` episodes on the separately seeded eval envs."""
        return evaluate(
            self.policy, self.eval_env, self.config.eval_episodes,
            deterministic=self.config.eval_deterministic, seed=self.config.seed + 1_000_003,
        )


def train(
    config: ReinforceConfig,
    *,
    learner: Reinforce | None = None,
    on_episode: Callable[[dict[str, float]], None] | None = None,
    on_update: Callable[[dict[str, float]], None] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train until ``total_steps`` env steps, or the first evaluation ≥ ``stop_return``.

    The history holds one entry per update (``update, env_steps, train_time, loss,
    value_loss, entropy, grad_norm, episodes, mean_return, eval_mean``): ``train_time``
    counts collection and learning only (evaluation excluded), and ``eval_mean`` is NaN for
    updates without an evaluation — so anyone can re-measure "solved at" and its clock.

    Args:
        learner: continue this learner (e.g. one restored by `Reinforce.load_state_dict`)
            instead of a fresh ``Reinforce(config)``.
        on_episode: called with each finished training episode's row (``env_step, episode,
            return, length, wall_time``).
        on_update: called with each update's row, after its evaluation; a snapshot taken
            there (`Reinforce.state_dict`) resumes exactly.
        progress: show a tqdm progress bar.

    >>> result = train(ReinforceConfig(total_steps=2048, eval_every=0))
    >>> result.history["env_steps"]
    [1024, 2048]
    """
    learner = Reinforce(config) if learner is None else learner
    history: dict[str, list[float]] = {}
    episodes: dict[str, list[float]] = {}
    solved_at = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.total_steps, initial=learner.env_steps, unit="step",
                   desc=config.env_id)
    try:
        while learner.env_steps < config.total_steps:
            row = learner.update()
            batch = learner.last_batch
            for episode_return, length in zip(batch.episode_returns, batch.episode_lengths,
                                              strict=True):
                episode = {"env_step": learner.env_steps, "episode": learner.episodes_done,
                           "return": float(episode_return), "length": int(length),
                           "wall_time": learner.train_time}
                learner.episodes_done += 1
                for key, value in episode.items():
                    episodes.setdefault(key, []).append(value)
                if on_episode is not None:
                    on_episode(episode)
            row["eval_mean"] = math.nan
            if config.eval_every and learner.updates % config.eval_every == 0:
                row["eval_mean"] = float(learner.evaluate().mean())
            for key, value in row.items():
                history.setdefault(key, []).append(value)
            if on_update is not None:
                on_update(row)
            if bar is not None:
                bar.update(row["env_steps"] - bar.n)
                bar.set_postfix(ret=f"{row['mean_return']:.1f}", eval=f"{row['eval_mean']:.1f}")
            if row["eval_mean"] >= learner.stop_return:
                solved_at = learner.updates - 1
                break
    finally:
        if bar is not None:
            bar.close()
    return TrainResult(learner.policy, learner.value_function, history, config, solved_at,
                       episodes)


def save_policy(path: str | Path, policy: Policy, config: ReinforceConfig) -> Path:
    """Write the policy's weights and its config to ``path`` (atomically; tensors and plain
    values only, so `load_policy` reads it with ``weights_only=True``)."""
    return atomic_torch_save({"config": asdict(config), "policy": policy.state_dict()}, path)


def load_policy(path: str | Path) -> tuple[Policy, ReinforceConfig]:
    """Rebuild a policy saved by `save_policy`; nothing in the file is executed."""
    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
        config = ReinforceConfig(**{**saved["config"],
                                    "hidden_sizes": tuple(saved["config"]["hidden_sizes"])})
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        reason = " ".join(str(error).split())[:200]
        raise ValueError(f"cannot load a policy from {path}: {reason}") from None
    env = gym.make(config.env_id)
    policy = make_policy(env.observation_space, env.action_space, config.hidden_sizes,
                         config.activation)
    env.close()
    policy.load_state_dict(saved["policy"])
    return policy, config
