"""Small torch policies π_θ(a|s) and a value function V_φ(s), behind one interface.

Every policy is an ``nn.Module`` with these methods. Observations are batch-first
``[B, *obs_shape]`` numpy arrays or torch tensors (converted with ``torch.as_tensor``, which
does not copy float32 arrays); results are torch tensors.

- ``sample(observations, generator=None) -> (actions, log_probs)``: one a ∼ π_θ(·|s) per row
  and log π_θ(a|s) ``[B]`` with the autograd graph attached, so ``-(log_probs * psi).mean()``
  is the REINFORCE surrogate. ``policy(observations)`` is the same call.
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

``make_policy`` picks the class from a Gymnasium env's spaces; ``ValueMLP`` and
``make_value_function`` give V_φ(s) for baselines.

Design choices:

- Log-probabilities and sampling are written out (log_softmax + gather; the diagonal Gaussian
  formula) instead of going through ``torch.distributions``, whose argument validation and
  broadcasting cost several times the arithmetic at batch sizes 1–256. Categorical sampling
  uses the Gumbel-max trick, a = argmax_a [log π(a|s) − log E_a] with E_a ∼ Exp(1) i.i.d.,
  an exact draw from π that measured faster here than ``torch.multinomial`` and inverse-CDF
  sampling at these sizes.
- Initialisation, CleanRL's and the usual PPO default (Andrychowicz et al. 2021, "What
  matters in on-policy RL?"): orthogonal weights with gain √2 in hidden layers, 0.01 in a
  policy's output layer (the initial policy is near uniform, μ ≈ 0) and 1.0 in the value's;
  zero biases. The tabular policy starts at θ = 0, the uniform policy.
- Discrete observations fed to an MLP are one-hot encoded (``one_hot=True``). A linear layer
  on one-hot inputs is a table, so ``hidden_sizes=()`` gives a tabular V(s) or μ(s).
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

__all__ = [
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

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
_LOG_2PI = math.log(2 * math.pi)


def _is_count(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def _check_count(value: object, name: str) -> int:
    if not _is_count(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def mlp(
    in_dim: int,
    hidden_sizes: Sequence[int],
    out_dim: int,
    activation: str = "tanh",
    output_gain: float = 1.0,
) -> nn.Sequential:
    """Multi-layer perceptron ``in_dim → *hidden_sizes → out_dim``, orthogonally initialised.

    f(x) = W_L h_{L−1} + b_L with h_k = act(W_k h_{k−1} + b_k), h_0 = x. Hidden weights get
    orthogonal init with gain √2, the output layer gain ``output_gain``; biases are 0
    (CleanRL's ``layer_init``). ``hidden_sizes=()`` gives one linear layer.

    Shapes: ``[B, in_dim] → [B, out_dim]``.

    >>> net = mlp(4, (8, 8), 2, activation="relu", output_gain=0.01)
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    """
    in_dim = _check_count(in_dim, "in_dim")
    out_dim = _check_count(out_dim, "out_dim")
    if (
        isinstance(hidden_sizes, (str, bytes))
        or not isinstance(hidden_sizes, Sequence)
        or not all(_is_count(size) for size in hidden_sizes)
    ):
        raise ValueError(
            f"hidden_sizes must be a sequence of positive integers such as (64, 64) or (), "
            f"got {hidden_sizes!r}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    widths = [in_dim, *(int(size) for size in hidden_sizes)]
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(widths):
        layers += [_orthogonal(nn.Linear(n_in, n_out), math.sqrt(2)), ACTIVATIONS[activation]()]
    layers.append(_orthogonal(nn.Linear(widths[-1], out_dim), output_gain))
    return nn.Sequential(*layers)


def _orthogonal(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def _state_indices(observations: object, n_states: int, device: torch.device) -> Tensor:
    """Integer state indices ``[B]`` in [0, n_states), validated."""
    indices = torch.as_tensor(observations, device=device)
    if indices.ndim != 1:
        raise ValueError(
            f"observations must be state indices of shape [B] (batch first), "
            f"got shape {tuple(indices.shape)}"
        )
    return _check_indices(indices, n_states, "observations")


def _check_indices(indices: Tensor, n: int, name: str) -> Tensor:
    """``indices`` as int64, after checking they are integers in [0, n)."""
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == torch.bool:
        raise TypeError(f"{name} must be integer indices in [0, {n}), got dtype {indices.dtype}")
    # Negative indices would silently wrap around in indexing; catch them here.
    if indices.numel():
        low, high = (int(v) for v in torch.aminmax(indices))
        if low < 0 or high >= n:
            raise ValueError(f"{name} must be integers in [0, {n}), got values in [{low}, {high}]")
    return indices.long()


def _features(observations: object, obs_dim: int, one_hot: bool, like: Tensor) -> Tensor:
    """MLP input ``[B, obs_dim]`` on ``like``'s dtype and device (one-hot for state indices)."""
    if one_hot:
        indices = _state_indices(observations, obs_dim, like.device)
        return nn.functional.one_hot(indices, obs_dim).to(like.dtype)
    features = torch.as_tensor(observations, dtype=like.dtype, device=like.device)
    if features.ndim != 2 or features.shape[1] != obs_dim:
        raise ValueError(
            f"observations must have shape [B, {obs_dim}] (batch first), "
            f"got shape {tuple(features.shape)}"
        )
    return features


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator)}")


class Policy(nn.Module, ABC):
    """A stochastic policy π_θ(a|s): the interface the agents and rollouts rely on.

    Subclasses implement ``sample``, ``log_prob``, ``entropy`` and ``deterministic``;
    ``forward`` is ``sample`` and ``to_env`` turns actions into a numpy array for
    ``env.step``.
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
        return torch.as_tensor(actions).detach().cpu().numpy()


class CategoricalPolicy(Policy):
    """π_θ(a|s) = softmax(f_θ(s))_a over ``n_actions`` discrete actions, f_θ(s) = logits.

    log π_θ(a|s) = f_θ(s)_a − log Σ_b exp f_θ(s)_b (``log_softmax`` + ``gather``);
    H(π_θ(·|s)) = −Σ_a π_θ(a|s) log π_θ(a|s) (nats). Sampling: Gumbel-max,
    a = argmax_a [log π_θ(a|s) − log E_a], E_a ∼ Exp(1) (−log E_a is Gumbel noise; Maddison
    et al. 2014, "A* Sampling"). Greedy action: argmax_a f_θ(s)_a, ties to the lowest index.
    Actions are int64 ``[B]``. Reference: Sutton & Barto (2018), eq. 13.2 (soft-max in action
    preferences).

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
        log_probs = torch.log_softmax(self.action_logits(observations), dim=-1)
        with torch.no_grad():
            exponential = torch.empty_like(log_probs).exponential_(generator=generator)
            actions = (log_probs - exponential.log_()).argmax(dim=-1, keepdim=True)
        return actions.squeeze(-1), log_probs.gather(-1, actions).squeeze(-1)

    def log_prob(self, observations: object, actions: object) -> Tensor:
        log_probs = torch.log_softmax(self.action_logits(observations), dim=-1)
        actions = torch.as_tensor(actions, device=log_probs.device)
        if actions.shape != log_probs.shape[:1]:
            raise ValueError(
                f"actions must have shape [B] = {tuple(log_probs.shape[:1])} to match the "
                f"observations, got shape {tuple(actions.shape)}"
            )
        actions = _check_indices(actions, self.n_actions, "actions")
        return log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def entropy(self, observations: object) -> Tensor:
        log_probs = torch.log_softmax(self.action_logits(observations), dim=-1)
        return -(log_probs.exp() * log_probs).sum(dim=-1)

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
        self.n_states = _check_count(n_states, "n_states")
        self.n_actions = _check_count(n_actions, "n_actions")
        self.logits = nn.Parameter(torch.zeros(self.n_states, self.n_actions))

    def action_logits(self, observations: object) -> Tensor:
        return self.logits[_state_indices(observations, self.n_states, self.logits.device)]


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
        self.obs_dim = _check_count(obs_dim, "obs_dim")
        self.n_actions = _check_count(n_actions, "n_actions")
        self.one_hot = bool(one_hot)
        self.net = mlp(self.obs_dim, hidden_sizes, self.n_actions, activation, output_gain=0.01)

    def action_logits(self, observations: object) -> Tensor:
        return self.net(_features(observations, self.obs_dim, self.one_hot, self.net[0].weight))


class GaussianMLPPolicy(Policy):
    """Diagonal Gaussian policy π_θ(a|s) = N(a; μ_θ(s), diag σ²), σ state-independent.

    μ_θ(s) is an MLP; log σ is a parameter ``[action_dim]`` (init ``log_std_init``) clamped to
    ``log_std_bounds`` (default [−5, 2], i.e. σ ∈ [0.0067, 7.4]: never a collapsed or an
    exploding policy; the gradient of log σ is 0 while it sits outside the bounds).

    log N(a; μ, σ²) = −½ Σ_i [((a_i − μ_i)/σ_i)² + 2 log σ_i + log 2π],
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
        self.obs_dim = _check_count(obs_dim, "obs_dim")
        self.action_dim = _check_count(action_dim, "action_dim")
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
        features = _features(observations, self.obs_dim, self.one_hot, self.log_std)
        return self.net(features), self.log_std.clamp(*self.log_std_bounds)

    @staticmethod
    def _log_density(mean: Tensor, log_std: Tensor, actions: Tensor) -> Tensor:
        z = (actions - mean) * torch.exp(-log_std)
        return -(0.5 * z.square() + log_std).sum(dim=-1) - 0.5 * _LOG_2PI * mean.shape[-1]

    def sample(
        self, observations: object, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        _check_generator(generator)
        mean, log_std = self.mean_and_log_std(observations)
        with torch.no_grad():
            noise = torch.randn(
                mean.shape, generator=generator, dtype=mean.dtype, device=mean.device
            )
            actions = mean + log_std.exp() * noise
        return actions, self._log_density(mean, log_std, actions)

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
        return self._log_density(mean, log_std, actions)

    def entropy(self, observations: object) -> Tensor:
        features = _features(observations, self.obs_dim, self.one_hot, self.log_std)
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


class ValueMLP(nn.Module):
    """State-value estimate V_φ(s) = g_φ(s), an MLP with one output: ``[B, obs_dim] → [B]``.

    A separate module from the policy, so a policy loss never reaches its parameters. The
    output layer starts with gain 1.0. ``one_hot=True`` takes Discrete state indices ``[B]``;
    with ``hidden_sizes=()`` it is then a table V[s] (plus a shared bias).

    >>> value = ValueMLP(obs_dim=4)
    >>> value(np.zeros((6, 4), dtype=np.float32)).shape
    torch.Size([6])
    """

    def __init__(
        self,
        obs_dim: int,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        *,
        one_hot: bool = False,
    ) -> None:
        super().__init__()
        self.obs_dim = _check_count(obs_dim, "obs_dim")
        self.one_hot = bool(one_hot)
        self.net = mlp(self.obs_dim, hidden_sizes, 1, activation, output_gain=1.0)

    def forward(self, observations: object) -> Tensor:
        features = _features(observations, self.obs_dim, self.one_hot, self.net[0].weight)
        return self.net(features).squeeze(-1)


_SUPPORTED = (
    "supported: observation spaces Discrete(n) (start=0) or 1-D Box; action spaces "
    "Discrete(n) (start=0) or 1-D Box. For a vector env pass env.single_observation_space "
    "and env.single_action_space"
)


def _mlp_input(space: object, name: str) -> tuple[int, bool]:
    """(obs_dim, one_hot) of an observation space for an MLP."""
    if isinstance(space, spaces.Discrete) and space.start == 0:
        return int(space.n), True
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return int(space.shape[0]), False
    raise TypeError(f"unsupported {name} {space!r}; {_SUPPORTED}")


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
        obs_dim, one_hot = _mlp_input(observation_space, "observation_space")
        return CategoricalMLPPolicy(
            obs_dim, int(action_space.n), hidden_sizes, activation, one_hot=one_hot
        )
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        obs_dim, one_hot = _mlp_input(observation_space, "observation_space")
        return GaussianMLPPolicy(
            obs_dim,
            int(action_space.shape[0]),
            hidden_sizes,
            activation,
            action_low=action_space.low,
            action_high=action_space.high,
            one_hot=one_hot,
        )
    raise TypeError(f"unsupported action_space {action_space!r}; {_SUPPORTED}")


def make_value_function(
    observation_space: spaces.Space,
    hidden_sizes: Sequence[int] = (64, 64),
    activation: str = "tanh",
) -> ValueMLP:
    """A ``ValueMLP`` for an env's observation space (one-hot inputs for ``Discrete``).

    >>> make_value_function(spaces.Discrete(5), hidden_sizes=())([0, 4]).shape
    torch.Size([2])
    """
    obs_dim, one_hot = _mlp_input(observation_space, "observation_space")
    return ValueMLP(obs_dim, hidden_sizes, activation, one_hot=one_hot)
