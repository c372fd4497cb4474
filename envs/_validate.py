"""Argument checks shared by the environments."""

from __future__ import annotations

from typing import Any

import numpy as np


def finite_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a new float64 array, refusing non-numbers, NaN and infinities."""
    array = np.array(value)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got NaN or infinite entries")
    return array


def finite_number(name: str, value: Any) -> float:
    """``value`` as a float, refusing non-numbers (bool included), NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)
