"""Arguments of ``agents.supervised`` and ``agents.mle``, checked and converted to tensors.

Every check runs before any work and names the argument, the value and what is allowed
(``y must be in [0, 3), got 5``), so that bad input never surfaces as a NaN loss or as an
error from deep inside torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def as_array(name: str, value: object) -> np.ndarray:
    """A non-empty numpy array of booleans or real numbers, rows first (tensors detached)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(
            f"{name} must hold at least one example (rows first), got shape {array.shape}"
        )
    return array


def as_features(name: str, value: object, shape: tuple[int, ...] | None = None) -> Tensor:
    """Real, finite inputs ``[n, *shape]`` (``[n, d]`` when shape is None) as float32."""
    array = as_array(name, value)
    if array.dtype.kind == "b":
        raise TypeError(f"{name} must hold numbers, got dtype bool")
    wanted = "[n, d]" if shape is None else f"[n, {', '.join(map(str, shape))}]"
    if (array.ndim != 2) if shape is None else (array.shape[1:] != shape):
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        raise ValueError(f"{name} must be finite, got {array[tuple(bad[0])]} at row {bad[0][0]}")
    return torch.as_tensor(array, dtype=torch.float32)


def as_labels(name: str, value: object, n_classes: int) -> Tensor:
    """Integer class indices ``[n]`` in [0, n_classes) as int64."""
    array = as_array(name, value)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must have shape [n], got {array.shape}")
    outside = array[(array < 0) | (array >= n_classes)]
    if len(outside):
        raise ValueError(f"{name} must be in [0, {n_classes}), got {outside[0]}")
    return torch.as_tensor(array, dtype=torch.int64)


def check_same_length(**arrays: Tensor) -> None:
    """The named inputs have the same number of rows."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the inputs must have the same number of rows, got {lengths}")


def as_weights(value: object, n: int) -> Tensor:
    """Example weights ``[n]``, finite and >= 0, as float32."""
    array = as_array("weights", value)
    if array.dtype.kind == "b":
        raise TypeError("weights must be numbers >= 0, got dtype bool")
    if array.shape != (n,):
        raise ValueError(f"weights must have shape [n] = ({n},), got {array.shape}")
    bad = array[~((array >= 0) & np.isfinite(array))]
    if len(bad):
        raise ValueError(f"weights must be finite and >= 0, got {bad[0]}")
    return torch.as_tensor(array, dtype=torch.float32)
