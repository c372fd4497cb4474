"""Small torch policies π_θ(a|s), behind one interface.

Every policy is an ``nn.Module`` with these methods. Observations are batch-first
``[B, *obs_shape]`` numpy arrays or torch tensors (converted with ``torch.as_tensor``, which
does not copy float32 arrays); results are torch tensors.

- ``sample(observations, generator=None) -> (actions, log_probs)``: one a ∼ π_θ(·|s) per row
  and log π_θ(a|s) ``[B]`` with the autograd graph attached, so ``-(log_probs * psi).mean()``
  is the REINFORCE surrogate. ``policy(observations)`` is the same call.
- ``act(observations, generator=None) -> actions``: the same draws as ``sample`` (the same
  generator state gives the same actions), without log-probabilities: what a rollout needs
  when the update recomputes log π_θ(a|s) from the batch (call it under
  ``torch.inference_mode()``).
- ``log_prob(observations, actions) -> [B]``: log π_θ(a|s) of given actions.
- ``entropy(observations) -> [B]``: H(π_θ(·|s)).
- ``deterministic(observations) -> actions``: the greedy action (argmax or mean), for
  evaluation.
- ``to_env(actions) -> np.ndarray``: what to hand to ``env.step``.

=======================  ===================  ============  ==============================
class                    observations         actions       parameters
=======================  ===================  ============  ==============================
TabularSoftmaxPolicy     Discrete(S) index    Discrete(A)   logits θ[s, a]
CategoricalMLPPolicy     Box [obs_dim]        Discrete(A)   MLP f_θ(s) → logits [A]
GaussianMLPPolicy        Box [obs_dim]        Box [d]       MLP μ_θ(s) [d]; log σ [d]
=======================  ===================  ============  ==============================

``make_policy`` picks the class from a Gymnasium env's spaces. The networks (``mlp``,
``ACTIVATIONS``) and the value function V_φ(s) for baselines (``ValueMLP``,
``make_value_function``) live in ``rlbasics.networks`` and are re-exported here.

Design choices:

- The densities are the ones in ``rlbasics.losses``: log π(a|s) = −``nll``(logits, a),
  H(π(·|s)) = ``entropy``(logits), log N(a; μ, σ²) = −Σ_i ``gaussian_nll``(μ_i, a_i, σ_i).
  They are called with ``validate=False``: a policy checks its observations and actions
  itself, and the losses' per-call checks (NaN and range scans) measured 5–7 times the cost of
  the arithmetic at batch sizes 1–256. For the same reason nothing here goes through
  ``torch.distributions``. Categorical sampling uses the Gumbel-max trick,
  a = argmax_a [f_θ(s)_a − log E_a] with E_a ∼ Exp(1) i.i.d., an exact draw from π that
  measured faster here than ``torch.multinomial`` and inverse-CDF sampling at these sizes.
- Initialisation: see ``rlbasics.networks`` (orthogonal, gain 0.01 on a policy's output
  layer, so the initial policy is near uniform, μ ≈ 0). The tabular policy starts at θ = 0,
  the uniform policy.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbasics import losses
from rlbasics.networks import (
    ACTIVATIONS,
    ValueMLP,
    check_count,
    check_indices,
    make_value_function,
    mlp,
    mlp_input,
    observation_features,
    state_indices,
)

__all__ = [  # ACTIVATIONS, ValueMLP, make_value_function, mlp: from rlbasics.networks
    "ACTIVATIONS",
    "CategoricalMLPPolicy",
    "CategoricalPolicy",
    "GaussianMLPPolicy",
    "Policy",
    "TabularSoftmaxPolicy",
    "ValueMLP",
    "make_policy",
    "make_value_function",
    "mlp",
]

_LOG_2PI = math.log(2 * math.pi)


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator)}")


class Policy(nn.Module, ABC):
    """A stochastic policy π_θ(a|s): the interface the agents and rollouts rely on.

    Subclasses implement ``sample``, ``act``, ``log_prob``, ``entropy`` and
    ``deterministic``; ``forward`` is ``sample`` and ``to_env`` turns actions into a numpy
    array for ``env.step``.
    """

    def forward(
        self, observations: object, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Same as ``sample``."""
        return self.sample(observations, generator)

    @abstractmethod
    def sample(
        self, observations: object, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Draw a ∼ π_θ(·|s) per observation: ``(actions, log_probs [B])``, graph attached."""

    @abstractmethod
    def act(self, observations: object, generator: torch.Generator | None = None) -> Tensor:
        """The actions ``sample`` would draw from the same generator state, without their
        log-probabilities (no graph is kept for them)."""

    @abstractmethod
    def log_prob(self, observations: object, actions: object) -> Tensor:
        """log π_θ(a|s) of the given actions, ``[B]``."""

    @abstractmethod
    def entropy(self, observations: object) -> Tensor:
        """H(π_θ(·|s)) at each observation, ``[B]``."""

    @abstractmethod
    def deterministic(self, observations: object) -> Tensor:
        """The greedy action per observation (no gradient), for evaluation."""

    def to_env(self, actions: Tensor) -> np.ndarray:
        """Actions as a numpy array for ``env.step``."""
        return torch.as_tensor(actions).numpy(force=True)  # detached, on the CPU


class CategoricalPolicy(Policy):
    """π_θ(a|s) = softmax(f_θ(s))_a over ``n_actions`` discrete actions, f_θ(s) = logits.

    log π_θ(a|s) = f_θ(s)_a − log Σ_b exp f_θ(s)_b = −``losses.nll``(f_θ(s), a);
    H(π_θ(·|s)) = −Σ_a π_θ(a|s) log π_θ(a|s) = ``losses.entropy``(f_θ(s)) (nats). Sampling:
    Gumbel-max, a = argmax_a [f_θ(s)_a − log E_a], E_a ∼ Exp(1) (−log E_a is Gumbel noise;
    Maddison et al. 2014, "A* Sampling"); f_θ(s)_a and log π_θ(a|s) differ by a constant per
    state, so both give the same argmax. Greedy action: argmax_a f_θ(s)_a, ties to the lowest
    index. Actions are int64 ``[B]``. Reference: Sutton & Barto (2018), eq. 13.2 (soft-max in
    action preferences).

    Subclasses define ``action_logits(observations) -> [B, n_actions]``.
    """

    n_actions: int

    @abstractmethod
    def action_logits(self, observations: object) -> Tensor:
        """Unnormalised log-probabilities f_θ(s) ``[B, n_actions]``."""

    def sample(
        self, observations: object, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        _check_generator(generator)
        logits = self.action_logits(observations)
        actions = self._draw(logits, generator)
        return actions, -losses.nll(logits, actions, reduction="none", validate=False)

    def act(self, observations: object, generator: torch.Generator | None = None) -> Tensor:
        _check_generator(generator)
        return self._draw(self.action_logits(observations), generator)

    @staticmethod
    def _draw(logits: Tensor, generator: torch.Generator | None) -> Tensor:
        # Gumbel-max on the logits, not on log π: the one log_softmax is the one in nll.
        exponential = torch.empty_like(logits).exponential_(generator=generator)
        return (logits.detach() - exponential.log_()).argmax(dim=-1)

    def log_prob(self, observations: object, actions: object) -> Tensor:
        logits = self.action_logits(observations)
        actions = torch.as_tensor(actions, device=logits.device)
        if actions.shape != logits.shape[:1]:
            raise ValueError(
                f"actions must have shape [B] = {tuple(logits.shape[:1])} to match the "
                f"observations, got shape {tuple(actions.shape)}"
            )
        actions = check_indices(actions, self.n_actions, "actions")
        return -losses.nll(logits, actions, reduction="none", validate=False)

    def entropy(self, observations: object) -> Tensor:
        return losses.entropy(self.action_logits(observations), validate=False)

    def deterministic(self, observations: object) -> Tensor:
        with torch.no_grad():
            return self.action_logits(observations).argmax(dim=-1)


class TabularSoftmaxPolicy(CategoricalPolicy):
    """Tabular softmax policy π_θ(a|s) = exp θ[s, a] / Σ_b exp θ[s, b].

    ``logits`` is the parameter θ ``[n_states, n_actions]``, initialised to 0 (uniform), in
    the layout ``rlbasics.exact`` takes, so autograd gradients of a sampled surrogate can be
    compared with the exact ∇J(θ). Observations are integer state indices ``[B]`` of a
    ``Discrete(n_states)`` space; an env that hides its state (observation space
    ``Discrete(1)``) gives one shared row θ[0].

    >>> policy = TabularSoftmaxPolicy(n_states=3, n_actions=2)
    >>> actions, log_probs = policy.sample([0, 2], generator=torch.Generator().manual_seed(0))
    >>> actions.shape, log_probs.detach()  # uniform at θ = 0: log π = log ½
    (torch.Size([2]), tensor([-0.6931, -0.6931]))
    """

    def __init__(self, n_states: int, n_actions: int) -> None:
        super().__init__()
        self.n_states = check_count(n_states, "n_states")
        self.n_actions = check_count(n_actions, "n_actions")
        self.logits = nn.Parameter(torch.zeros(self.n_states, self.n_actions))

    def action_logits(self, observations: object) -> Tensor:
        return self.logits[state_indices(observations, self.n_states, self.logits.device)]


class CategoricalMLPPolicy(CategoricalPolicy):
    """Softmax policy over ``n_actions`` with an MLP for the logits: π_θ(a|s) = softmax(f_θ(s))_a.

    Observations ``[B, obs_dim]`` (a 1-D ``Box``), or state indices ``[B]`` of a
    ``Discrete(obs_dim)`` space with ``one_hot=True``. The last layer starts with gain 0.01,
    so the initial policy is nearly uniform.

    >>> policy = CategoricalMLPPolicy(obs_dim=4, n_actions=2, hidden_sizes=(64, 64))
    >>> actions, log_probs = policy.sample(np.zeros((8, 4), dtype=np.float32))
    >>> actions.shape, log_probs.shape, policy.entropy(np.zeros((8, 4))).shape
    (torch.Size([8]), torch.Size([8]), torch.Size([8]))
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        *,
        one_hot: bool = False,
    ) -> None:
        super().__init__()
        self.obs_dim = check_count(obs_dim, "obs_dim")
        self.n_actions = check_count(n_actions, "n_actions")
        self.one_hot = bool(one_hot)
        self.net = mlp(self.obs_dim, hidden_sizes, self.n_actions, activation, output_gain=0.01)

    def action_logits(self, observations: object) -> Tensor:
        return self.net(
            observation_features(observations, self.obs_dim, self.one_hot, self.net.input_weight)
        )


class GaussianMLPPolicy(Policy):
    """Diagonal Gaussian policy π_θ(a|s) = N(a; μ_θ(s), diag σ²), σ state-independent.

    μ_θ(s) is an MLP; log σ is a parameter ``[action_dim]`` (init ``log_std_init``) clamped to
    ``log_std_bounds`` (default [−5, 2], i.e. σ ∈ [0.0067, 7.4]: never a collapsed or an
    exploding policy; the gradient of log σ is 0 while it sits outside the bounds).

    log N(a; μ, σ²) = −½ Σ_i [((a_i − μ_i)/σ_i)² + 2 log σ_i + log 2π]
    = −Σ_i ``losses.gaussian_nll``(μ_i, a_i, σ_i);
    H = Σ_i [log σ_i + ½ (1 + log 2π)] (nats, the same at every state).

    ``sample`` returns the raw draw a = μ + σ ε, ε ∼ N(0, I), and its log-probability; only
    ``to_env`` clips to [``action_low``, ``action_high``] (the env's ``Box``), so the
    log-probabilities always belong to the action actually drawn. The greedy action is μ_θ(s)
    (unclipped; pass it through ``to_env`` too). Actions are float ``[B, action_dim]``.
    References: Sutton & Barto (2018), §13.7; Spinning Up, "Diagonal Gaussian Policies".

    >>> policy = GaussianMLPPolicy(3, 1, action_low=[-2.0], action_high=[2.0])
    >>> actions, log_probs = policy.sample(np.zeros((5, 3), dtype=np.float32))
    >>> actions.shape, log_probs.shape
    (torch.Size([5, 1]), torch.Size([5]))
    >>> policy.to_env(torch.tensor([[-3.0], [0.5], [9.0]]))  # clipped only for the env
    array([[-2. ], [ 0.5], [ 2. ]], dtype=float32)
    >>> policy.entropy(np.zeros((1, 3))).tolist()  # log σ = 0: ½ (1 + log 2π)
    [1.4189]
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        log_std_init: float = 0.0,
        log_std_bounds: tuple[float, float] = (-5.0, 2.0),
        action_low: object = None,
        action_high: object = None,
        *,
        one_hot: bool = False,
    ) -> None:
        super().__init__()
        self.obs_dim = check_count(obs_dim, "obs_dim")
        self.action_dim = check_count(action_dim, "action_dim")
        self.one_hot = bool(one_hot)
        bounds = np.asarray(log_std_bounds, dtype=np.float64)
        if bounds.shape != (2,) or not np.isfinite(bounds).all() or bounds[0] >= bounds[1]:
            raise ValueError(
                f"log_std_bounds must be finite (low, high) with low < high, got {log_std_bounds!r}"
            )
        low, high = bounds.tolist()
        if not low <= log_std_init <= high:
            raise ValueError(
                f"log_std_init must be in log_std_bounds [{low}, {high}], got {log_std_init!r}"
            )
        self.log_std_bounds = (low, high)
        self.net = mlp(self.obs_dim, hidden_sizes, self.action_dim, activation, output_gain=0.01)
        self.log_std = nn.Parameter(torch.full((self.action_dim,), float(log_std_init)))
        self.register_buffer("action_low", self._bound(action_low, -math.inf, "action_low"))
        self.register_buffer("action_high", self._bound(action_high, math.inf, "action_high"))
        if bool((self.action_low > self.action_high).any()):
            raise ValueError(
                f"action_low must be <= action_high, got {self.action_low.tolist()} and "
                f"{self.action_high.tolist()}"
            )

    def _bound(self, value: object, default: float, name: str) -> Tensor:
        bound = torch.full((self.action_dim,), default)
        if value is not None:
            given = torch.as_tensor(np.asarray(value, dtype=np.float32))
            if given.numel() not in (1, self.action_dim) or given.isnan().any():
                raise ValueError(
                    f"{name} must be a number or {self.action_dim} numbers without NaN, "
                    f"got {value!r}"
                )
            bound[:] = given.reshape(-1)
        return bound

    def mean_and_log_std(self, observations: object) -> tuple[Tensor, Tensor]:
        """μ_θ(s) ``[B, action_dim]`` and the clamped log σ ``[action_dim]``."""
        features = observation_features(observations, self.obs_dim, self.one_hot, self.log_std)
        return self.net(features), self.log_std.clamp(*self.log_std_bounds)

    @staticmethod
    def _log_density(mean: Tensor, std: Tensor, actions: Tensor) -> Tensor:
        nll = losses.gaussian_nll(mean, actions, std, reduction="none", validate=False)
        return -nll.sum(dim=-1)

    def sample(
        self, observations: object, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        _check_generator(generator)
        mean, log_std = self.mean_and_log_std(observations)
        std = log_std.exp()
        actions = self._draw(mean, std, generator)
        return actions, self._log_density(mean, std, actions)

    def act(self, observations: object, generator: torch.Generator | None = None) -> Tensor:
        _check_generator(generator)
        mean, log_std = self.mean_and_log_std(observations)
        return self._draw(mean, log_std.exp(), generator)

    @staticmethod
    def _draw(mean: Tensor, std: Tensor, generator: torch.Generator | None) -> Tensor:
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean.detach() + std.detach() * noise

    def log_prob(self, observations: object, actions: object) -> Tensor:
        mean, log_std = self.mean_and_log_std(observations)
        actions = torch.as_tensor(actions, dtype=mean.dtype, device=mean.device)
        if actions.shape != mean.shape:
            raise ValueError(
                f"actions must have shape [B, action_dim] = {tuple(mean.shape)} to match the "
                f"observations, got shape {tuple(actions.shape)}"
            )
        if not bool(torch.isfinite(actions).all()):
            raise ValueError("actions must be finite, got NaN or inf")
        return self._log_density(mean, log_std.exp(), actions)

    def entropy(self, observations: object) -> Tensor:
        features = observation_features(observations, self.obs_dim, self.one_hot, self.log_std)
        log_std = self.log_std.clamp(*self.log_std_bounds)
        per_state = log_std.sum() + 0.5 * (1.0 + _LOG_2PI) * self.action_dim
        return per_state.expand(features.shape[0])

    def deterministic(self, observations: object) -> Tensor:
        with torch.no_grad():
            return self.mean_and_log_std(observations)[0]

    def to_env(self, actions: Tensor) -> np.ndarray:
        """Actions clipped to [``action_low``, ``action_high``], as a float32 numpy array."""
        actions = torch.as_tensor(actions, device=self.action_low.device).detach()
        clipped = actions.clamp(self.action_low, self.action_high)
        return clipped.cpu().numpy().astype(np.float32, copy=False)


def make_policy(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    hidden_sizes: Sequence[int] = (64, 64),
    activation: str = "tanh",
) -> Policy:
    """The policy class that fits a Gymnasium env's spaces.

    ==================  ==================  ===================================================
    observation space   action space        policy
    ==================  ==================  ===================================================
    Discrete(S)         Discrete(A)         TabularSoftmaxPolicy(S, A)
    1-D Box (n,)        Discrete(A)         CategoricalMLPPolicy(n, A)
    1-D Box (n,)        1-D Box (d,)        GaussianMLPPolicy(n, d), clipped to the Box bounds
    Discrete(S)         1-D Box (d,)        GaussianMLPPolicy(S, d, one_hot=True)
    ==================  ==================  ===================================================

    Anything else raises ``TypeError``. ``hidden_sizes`` and ``activation`` apply to MLPs.

    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1")
    >>> type(make_policy(env.observation_space, env.action_space)).__name__
    'CategoricalMLPPolicy'
    """
    if isinstance(action_space, spaces.Discrete) and action_space.start == 0:
        if isinstance(observation_space, spaces.Discrete) and observation_space.start == 0:
            return TabularSoftmaxPolicy(int(observation_space.n), int(action_space.n))
        obs_dim, one_hot = mlp_input(observation_space)
        return CategoricalMLPPolicy(
            obs_dim, int(action_space.n), hidden_sizes, activation, one_hot=one_hot
        )
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        obs_dim, one_hot = mlp_input(observation_space)
        return GaussianMLPPolicy(
            obs_dim,
            int(action_space.shape[0]),
            hidden_sizes,
            activation,
            action_low=action_space.low,
            action_high=action_space.high,
            one_hot=one_hot,
        )
    raise TypeError(
        f"unsupported action_space {action_space!r}; supported: action spaces Discrete(n) "
        f"(start=0) or 1-D Box. For a vector env pass env.single_action_space"
    )
