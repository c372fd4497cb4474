"""Tests for rlbasics.networks: MLP construction and init, the value function, observations.

References: W Wᵀ = gain² I for orthogonal init (rows orthonormal up to the gain); the identity
matrix for one-hot rows; a linear layer on one-hot inputs read off as a table.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlbasics.policies
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


def close(actual, expected, rtol=1e-6, atol=1e-6):
    # torch.testing.assert_close would import torch.distributed (≈1.5 s) on first use.
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), (actual, expected)


# --- mlp --------------------------------------------------------------------------------------


def test_orthogonal_initialisation_gains():
    torch.manual_seed(0)
    net = mlp(4, (64, 64), 3, output_gain=0.01)
    hidden = net[2].weight.detach()  # 64 × 64: W Wᵀ = gain² I with gain √2
    close(hidden @ hidden.T, 2.0 * torch.eye(64))
    for out, gain in [(net[-1].weight.detach(), 0.01), (ValueMLP(4).net[-1].weight.detach(), 1.0)]:
        close(out @ out.T, gain**2 * torch.eye(len(out)), rtol=1e-5)  # rows: norm = gain
    assert not any(layer.bias.any() for layer in net if isinstance(layer, torch.nn.Linear))


def test_mlp_supports_every_listed_activation_and_no_hidden_layer():
    for name, activation in ACTIVATIONS.items():
        net = mlp(3, (5,), 2, activation=name)
        assert isinstance(net[1], activation) and net(torch.zeros(1, 3)).shape == (1, 2)
    linear = mlp(3, (), 2)
    assert len(linear) == 1 and isinstance(linear[0], torch.nn.Linear)


def test_mlp_forward_is_the_sequential_forward_of_its_layers():
    """MLP runs its layers without torch's module-call machinery: the same numbers as
    nn.Sequential over the same layers, and the same gradients."""
    torch.manual_seed(0)
    net = mlp(3, (8, 8), 2, activation="relu")
    reference = torch.nn.Sequential(*net)  # the same layer objects
    x = torch.randn(5, 3)
    assert torch.equal(net(x), reference(x))
    net(x).square().sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    reference(x).square().sum().backward()
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, reference.parameters(), strict=True))
    assert net.input_weight is net[0].weight


@pytest.mark.parametrize("hidden_sizes", [(64, 0), (64, -1), (64.0,), (True,), "64", 64, None])
def test_bad_hidden_sizes(hidden_sizes):
    with pytest.raises(ValueError, match="hidden_sizes must be a sequence of positive integers"):
        mlp(4, hidden_sizes, 2)


def test_bad_activation_lists_the_allowed_names():
    allowed = r"activation must be one of \['elu', 'gelu', 'relu', 'silu', 'tanh'\], got 'sigm"
    with pytest.raises(ValueError, match=allowed):
        ValueMLP(4, activation="sigmoid")


@pytest.mark.parametrize("value", [0, -2, 1.5, True, "3", None])
def test_check_count_refuses_anything_but_a_positive_integer(value):
    with pytest.raises(ValueError, match=f"in_dim must be a positive integer, got {value!r}"):
        mlp(value, (), 1)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        check_count(value, "n")


# --- observations -----------------------------------------------------------------------------


def test_one_hot_features_are_rows_of_the_identity():
    states = np.array([3, 0, 3, 1])
    expected = torch.as_tensor(np.eye(4, dtype=np.float64)[states])  # e_s, in like's dtype
    close(observation_features(states, 4, True, torch.zeros(1, dtype=torch.float64)), expected)


def test_box_features_are_cast_to_the_dtype_of_like_without_changing_values():
    observations = np.arange(6, dtype=np.float64).reshape(3, 2)  # small integers: exact in f32
    features = observation_features(observations, 2, False, torch.zeros(1))
    assert features.dtype == torch.float32
    close(features, torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))


@pytest.mark.parametrize("observations", [np.zeros((5, 3)), np.zeros(4), np.zeros((2, 4, 1))])
def test_box_observations_with_the_wrong_shape(observations):
    with pytest.raises(ValueError, match=r"observations must have shape \[B, 4\].*got shape"):
        ValueMLP(4)(observations)


def test_bad_state_indices():
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match=r"observations must be integers in \[0, 3\).*\[0, 5\]"):
        ValueMLP(3, one_hot=True)([5, 0])
    with pytest.raises(ValueError, match=r"state indices of shape \[B\].*\(2, 1\)"):
        state_indices([[0], [1]], 3, cpu)
    with pytest.raises(TypeError, match=r"observations must be integer indices.*float"):
        state_indices(np.array([0.0, 1.0]), 3, cpu)
    with pytest.raises(TypeError, match=r"actions must be integer indices in \[0, 2\).*bool"):
        check_indices(torch.tensor([True, False]), 2, "actions")
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 2\).*\[-1, 0\]"):
        check_indices(torch.tensor([[0, -1]]), 2, "actions")  # any shape


def test_mlp_input_of_supported_and_unsupported_spaces():
    assert mlp_input(spaces.Discrete(7)) == (7, True)
    assert mlp_input(gym.make("CartPole-v1").observation_space) == (4, False)
    for space in [spaces.Discrete(3, start=1), spaces.Box(0, 1, (2, 2)), spaces.MultiBinary(3)]:
        with pytest.raises(TypeError, match=r"unsupported observation_space .*; supported: "):
            mlp_input(space)


# --- value function ---------------------------------------------------------------------------


def test_make_value_function():
    value = make_value_function(gym.make("CartPole-v1").observation_space, hidden_sizes=(8,))
    assert isinstance(value, ValueMLP) and value(np.zeros((3, 4), np.float32)).shape == (3,)
    table = make_value_function(spaces.Discrete(4), hidden_sizes=())  # V[s] = W[0, s] + b
    expected = table.net[0].weight[0, [2, 0]] + table.net[0].bias
    close(table([2, 0]), expected)
    with pytest.raises(TypeError, match="unsupported observation_space Tuple"):
        make_value_function(spaces.Tuple([spaces.Discrete(2)]))


def test_policies_re_exports_the_networks():
    for name in ["ACTIVATIONS", "ValueMLP", "make_value_function", "mlp"]:
        assert getattr(rlbasics.policies, name) is getattr(rlbasics.networks, name)
        assert name in rlbasics.policies.__all__
