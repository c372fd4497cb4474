"""Arguments of :mod:`rlbasics.losses`, checked before any arithmetic.

Each check raises a TypeError or ValueError that names the argument, the value and what is
allowed (``labels must be in [0, 3), got 5``), so that bad input never turns into a silent
NaN or a shape error from deep inside torch. The losses skip them with ``validate=False``
where the inputs are valid by construction.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_float_tensor(name: str, x: object) -> None:
    """``x`` is a floating-point torch tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")


def check_finite(name: str, x: Tensor) -> None:
    """``x`` holds no NaN and no ±inf."""
    bad = x[~torch.isfinite(x)]
    if bad.numel() > 0:
        raise ValueError(f"{name} must be finite, got {bad[0].item()}")


def check_logits(name: str, logits: Tensor) -> None:
    """Logits ``[..., k]``, k ≥ 1: finite or −inf, with a finite entry in every row."""
    check_float_tensor(name, logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(
            f"{name} must have shape [..., k] with k >= 1 categories, got {tuple(logits.shape)}"
        )
    # A row is valid iff its largest entry is finite: catches NaN (max propagates it),
    # +inf, and rows that are all −inf (no possible category); lone −inf entries are fine.
    row_max = logits.amax(dim=-1)
    bad = row_max[~torch.isfinite(row_max)]
    if bad.numel() > 0:
        raise ValueError(
            f"{name} must be finite or -inf (an impossible category), with a finite entry in "
            f"every row; got a row whose largest entry is {bad[0].item()}"
        )


def check_nll_inputs(logits: Tensor, labels: Tensor) -> None:
    """Logits ``[..., k]`` and integer labels ``logits.shape[:-1]`` in [0, k)."""
    check_logits("logits", logits)
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"labels must be an integer tensor of class indices, got {labels.dtype}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"labels must have shape logits.shape[:-1] = {tuple(logits.shape[:-1])}, "
            f"got {tuple(labels.shape)}"
        )
    num_classes = logits.shape[-1]
    out_of_range = labels[(labels < 0) | (labels >= num_classes)]
    if out_of_range.numel() > 0:
        raise ValueError(f"labels must be in [0, {num_classes}), got {out_of_range[0].item()}")


def check_gaussian_nll_inputs(mean: Tensor, target: Tensor, std: object) -> None:
    """Finite float mean and target of one shape; σ > 0, finite, broadcasting to it."""
    check_float_tensor("mean", mean)
    check_finite("mean", mean)
    check_float_tensor("target", target)
    check_finite("target", target)
    check_same_shape("mean", mean, "target", target)
    if isinstance(std, bool) or not isinstance(std, (int, float, Tensor)):
        raise TypeError(f"std must be a float or a torch.Tensor, got {type(std).__name__}")
    std = torch.as_tensor(std, dtype=mean.dtype, device=mean.device)
    if not std.is_floating_point():
        raise TypeError(f"std must be a floating-point tensor, got {std.dtype}")
    not_positive = std[~((std > 0) & torch.isfinite(std))]
    if not_positive.numel() > 0:
        raise ValueError(f"std must be positive and finite, got {not_positive[0].item()}")
    try:
        broadcasts = torch.broadcast_shapes(std.shape, mean.shape) == mean.shape
    except RuntimeError:
        broadcasts = False
    if not broadcasts:
        raise ValueError(
            f"std must broadcast to mean's shape {tuple(mean.shape)}, got {tuple(std.shape)}"
        )


def check_same_shape(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """``b`` is a tensor of ``a``'s shape."""
    if not isinstance(b, Tensor):
        raise TypeError(f"{name_b} must be a torch.Tensor, got {type(b).__name__}")
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def check_mask(mask: Tensor | None, like: Tensor) -> None:
    """No mask, or a bool mask of ``like``'s shape with at least one True."""
    if mask is None:
        return
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        kind = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a bool tensor (True at valid steps), got {kind}")
    if mask.shape != like.shape:
        raise ValueError(
            f"mask must have the same shape as the steps {tuple(like.shape)}, "
            f"got {tuple(mask.shape)}"
        )
    if not mask.any():
        raise ValueError("mask must mark at least one valid step (True), got none")
