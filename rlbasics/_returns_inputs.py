"""Arguments of :mod:`rlbasics.returns` as its kernels take them, and results handed back.

Checks every argument (type, range, shape) before any work, turns numpy arrays and torch
tensors into ``[N, T]`` numpy views without copying when it can, and converts the kernel's
numpy result back to the rewards' library, dtype and device.
"""

from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass

import numpy as np
import torch

ArrayOrTensor = np.ndarray | torch.Tensor

_TORCH_INTEGERS = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def check_fraction(name: str, value: object) -> float:
    """A discount γ or a λ: a real number in [0, 1]."""
    if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    number = float(value)
    if not 0.0 <= number <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {number}")
    return number


def check_horizon(n: object) -> int:
    """An n-step horizon: an integer ≥ 1."""
    if isinstance(n, (bool, np.bool_)):
        raise TypeError(f"n must be an integer >= 1, got {n!r}")
    try:
        horizon = operator.index(n)
    except TypeError:
        raise TypeError(f"n must be an integer >= 1, got {n!r}") from None
    if horizon < 1:
        raise ValueError(f"n must be >= 1, got {horizon}")
    return horizon


def _real_array(name: str, x: object) -> np.ndarray:
    """A numpy view of x (no copy for numpy arrays and CPU tensors) as the kernels read it:
    float32 or float64, converting the rest (float16 → float32, integers, bool → float64)."""
    if isinstance(x, torch.Tensor):
        if not (x.dtype.is_floating_point or x.dtype in _TORCH_INTEGERS):
            raise TypeError(f"{name} must hold real numbers (float, int or bool), got {x.dtype}")
        x = x.detach().cpu()
        array = (x.float() if x.dtype in (torch.float16, torch.bfloat16) else x).numpy()
    else:
        try:
            array = np.asarray(x)
        except ValueError as error:  # ragged nested lists
            raise TypeError(f"{name} must be an array of real numbers: {error}") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers (float, int or bool), got {array.dtype}")
    if array.dtype in (np.float32, np.float64):
        return array
    small_float = array.dtype.kind == "f" and array.dtype.itemsize < 4
    return array.astype(np.float32 if small_float else np.float64)


def _flag_array(name: str, x: object, shape: tuple[int, ...]) -> np.ndarray:
    """terminated/truncated: a bool array of the rewards' shape."""
    if isinstance(x, torch.Tensor):
        if x.dtype != torch.bool:
            raise TypeError(f"{name} must be a boolean array, got {x.dtype}")
        array = x.detach().cpu().numpy()
    else:
        array = np.asarray(x)
        if array.dtype != np.bool_:
            raise TypeError(f"{name} must be a boolean array, got {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have the shape of rewards {shape} (time on the last "
                         f"axis), got {array.shape}")
    return array


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.dtype == b.dtype)


def _format_index(flat: int, shape: tuple[int, ...]) -> str:
    index = tuple(int(i) for i in np.unravel_index(flat, shape))
    return str(index[0]) if len(index) == 1 else str(index)


def _bootstrap_array(bootstrap, shape, rows, dtype) -> np.ndarray:
    """bootstrap as an [N, T] array of the given dtype; a scalar is broadcast, not copied."""
    array = _real_array("bootstrap", 0.0 if bootstrap is None else bootstrap)
    if array.ndim == 0:
        return np.broadcast_to(array.astype(dtype), rows)
    if array.shape != shape:
        raise ValueError(f"bootstrap must be a scalar or have the shape of rewards {shape}, "
                         f"got {array.shape}")
    return array.astype(dtype, copy=False).reshape(rows)


@dataclass
class Batch:
    """The arguments of one call as the kernels take them: ``[N, T]`` float and bool views
    of the caller's ``[..., T]`` arrays, plus what is needed to hand the result back."""

    shape: tuple[int, ...]  # the caller's [..., T]
    rewards: np.ndarray
    values: np.ndarray | None
    bootstrap: np.ndarray
    terminated: np.ndarray | None
    truncated: np.ndarray | None
    dtype: np.dtype | torch.dtype  # of the result, in the rewards' library
    device: torch.device | None  # None when rewards is not a tensor
    out: np.ndarray | None = None  # the view of the caller's out= the kernel wrote into

    @classmethod
    def of(cls, rewards, *, values=None, terminated=None, truncated=None, bootstrap=None):
        array = _real_array("rewards", rewards)
        if array.ndim == 0:
            raise ValueError("rewards must have a time axis (shape [..., T]), got a scalar")
        shape = array.shape
        rows = (math.prod(shape[:-1]), shape[-1])
        if isinstance(rewards, torch.Tensor):
            floating = rewards.dtype.is_floating_point
            dtype, device = (rewards.dtype if floating else torch.float64), rewards.device
        else:
            given = np.asarray(rewards).dtype
            dtype, device = (given if given.kind == "f" else np.dtype(np.float64)), None
        # values and bootstrap in the rewards' precision, and both flags or none: fewer
        # versions for numba to compile (a copy only if the caller mixed precisions)
        if values is not None:
            values = _real_array("values", values)
            if values.shape != shape:
                raise ValueError(f"values must have the shape of rewards {shape}, "
                                 f"got {values.shape}")
            values = values.astype(array.dtype, copy=False).reshape(rows)
        bootstrap = _bootstrap_array(bootstrap, shape, rows, array.dtype)
        flags = [None if flag is None else _flag_array(name, flag, shape).reshape(rows)
                 for name, flag in (("terminated", terminated), ("truncated", truncated))]
        given = [flag for flag in flags if flag is not None]
        if given:  # the missing one as a real array, in the same layout as the other
            flags = [np.zeros_like(given[0]) if flag is None else flag for flag in flags]
        return cls(shape, array.reshape(rows), values, bootstrap, *flags, dtype=dtype,
                   device=device)

    @property
    def kernel_dtype(self) -> np.dtype:
        return self.rewards.dtype

    @property
    def time_major(self) -> bool:
        """True when consecutive rows are closer in memory than consecutive steps."""
        rows, steps = self.rewards.strides
        return self.rewards.shape[0] > 1 and abs(rows) < abs(steps)

    def destination(self, out: ArrayOrTensor | None) -> np.ndarray:
        """The ``[N, T]`` array the kernel writes into: a view of ``out`` when it can be."""
        if out is not None:
            self.out = self._view_of(out)
        if self.out is not None:
            return self.out
        # in the rewards' memory order, so that a time-major sweep also writes in order
        order = "F" if self.time_major else "C"
        return np.empty(self.rewards.shape, dtype=self.kernel_dtype, order=order)

    def _view_of(self, out: ArrayOrTensor) -> np.ndarray | None:
        """Check ``out``; its ``[N, T]`` numpy view, or None if the kernel cannot write there
        (another dtype or device, or a layout that does not fold to [N, T]): finish() copies."""
        kind = np.ndarray if self.device is None else torch.Tensor
        if not isinstance(out, kind):
            raise TypeError(f"out must be a {kind.__module__}.{kind.__name__} like rewards, "
                            f"got {type(out).__name__}")
        if tuple(out.shape) != self.shape:
            raise ValueError(f"out must have the shape of rewards {self.shape}, "
                             f"got {tuple(out.shape)}")
        if out.dtype != self.dtype:
            raise TypeError(f"out must have dtype {self.dtype}, got {out.dtype}")
        if isinstance(out, torch.Tensor):
            if out.device != self.device:
                raise ValueError(f"out must be on the rewards' device {self.device}, "
                                 f"got {out.device}")
            if out.requires_grad:
                raise ValueError("out must not require grad: returns carry no gradient")
            if out.device.type != "cpu" or out.dtype not in (torch.float32, torch.float64):
                return None
            out = out.numpy()
        elif not out.flags.writeable:
            raise ValueError("out must be writeable")
        if out.dtype != self.kernel_dtype:
            return None
        view = out.view()
        try:
            view.shape = self.rewards.shape  # raises where reshape would copy
        except AttributeError:
            return None
        for name in ("rewards", "values", "bootstrap", "terminated", "truncated"):
            source = getattr(self, name)
            in_place = name == "rewards" and _same_view(view, source)
            if source is not None and np.may_share_memory(view, source) and not in_place:
                raise ValueError(f"out must not overlap {name} (it may be rewards itself)")
        return view

    def check_finite(self, first_bad: int) -> None:
        """Raise the error for the kernel's first non-finite input, if it met one."""
        if first_bad >= self.rewards.size:
            return
        i, t = divmod(first_bad, self.shape[-1])
        where = _format_index(first_bad, self.shape)
        for name, source in (("rewards", self.rewards), ("values", self.values)):
            if source is not None and not np.isfinite(source[i, t]):
                raise ValueError(f"{name} must be finite, got {source[i, t]} at index {where}")
        raise ValueError(f"bootstrap must be finite where an episode is cut (truncated, or a "
                         f"row's unfinished end), got {self.bootstrap[i, t]} at index {where}")

    def finish(self, result: np.ndarray, out: ArrayOrTensor | None = None) -> ArrayOrTensor:
        """``result`` ([..., T] or [...]) in the rewards' library, dtype and device."""
        if out is not None:
            if self.out is None:  # the kernel wrote into a temporary
                if isinstance(out, torch.Tensor):
                    out.copy_(torch.from_numpy(result).reshape(self.shape))
                else:
                    out[...] = result.reshape(self.shape)
            return out
        if self.device is None:
            result = result.astype(self.dtype, copy=False)
            return result[()] if result.ndim == 0 else result
        return torch.from_numpy(result).to(device=self.device, dtype=self.dtype)
