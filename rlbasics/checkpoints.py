"""Checkpoints that load without executing anything, and every RNG state needed to resume exactly.

A checkpoint is a ``torch.save`` of plain data only — tensors, dicts, lists, tuples, ints,
floats, bools, strings, None — so that ``torch.load(path, weights_only=True)`` reads it.
That loader (``torch/_weights_only_unpickler.py``) refuses every pickle GLOBAL outside a short
allowlist of torch tensor rebuilders and containers, so a malicious file (one whose
``__reduce__`` calls ``exec`` or ``os.system``) is refused before anything runs, and
:func:`load_checkpoint` turns that refusal into a :class:`CheckpointError` naming the file.

A resumed run is identical to an uninterrupted one only if every random stream continues
where it stopped: :func:`rng_state` gathers Python's ``random``, numpy's global and named
``np.random.Generator`` states, torch's CPU (and CUDA) default generators and named
``torch.Generator`` states as plain data; :func:`restore_rng_state` puts them back in place.

Files are ``run/checkpoints/checkpoint-000001.pt``, ``-000002.pt``, …, each written
atomically; the newest ``keep`` are kept, and :func:`latest_checkpoint` falls back to an
older one if the newest cannot be loaded.
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlbasics.runs import RunDirectory, atomic_torch_save

__all__ = [
    "CheckpointError",
    "latest_checkpoint",
    "load_checkpoint",
    "restore_rng_state",
    "rng_state",
    "save_checkpoint",
]

_FORMAT = "rlbasics-checkpoint"
_NAME = re.compile(r"checkpoint-(\d+)\.pt")
_PLAIN = (int, float, bool, str, type(None))
_RNG_KEYS = ("python", "numpy_global", "torch_cpu", "torch_cuda", "numpy", "torch")


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, not a checkpoint, or unsafe to load."""


def _plain(value: Any) -> Any:
    """numpy arrays and scalars (as in ``bit_generator.state``) as Python lists and numbers."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


def rng_state(
    numpy_generators: Mapping[str, np.random.Generator] | None = None,
    torch_generators: Mapping[str, torch.Generator] | None = None,
) -> dict[str, Any]:
    """Every random stream's state as plain data, ready for :func:`save_checkpoint`.

    Global streams always (Python ``random``, numpy's legacy ``np.random``, torch's default
    CPU and CUDA generators); named ``np.random.Generator``/``torch.Generator`` objects —
    the env's ``np_random``, its action space's, a sampler's — when given.

    >>> rng = np.random.default_rng(0)
    >>> state = rng_state(numpy_generators={"env": rng})
    >>> first = rng.random()
    >>> restore_rng_state(state, numpy_generators={"env": rng})
    >>> rng.random() == first
    True
    """
    python_version, python_internal, python_gauss = random.getstate()
    numpy_generators, torch_generators = numpy_generators or {}, torch_generators or {}
    # The legacy global np.random is saved too: library code (not ours) may still draw from it.
    return {
        "python": [python_version, list(python_internal), python_gauss],
        "numpy_global": _plain(np.random.get_state(legacy=False)),  # noqa: NPY002
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {name: _plain(g.bit_generator.state) for name, g in numpy_generators.items()},
        "torch": {name: g.get_state() for name, g in torch_generators.items()},
    }


def _same_names(saved: Mapping[str, Any], kind: str, given: Mapping[str, Any]) -> None:
    """A generator left out on restore would silently diverge: the names must match exactly."""
    if set(saved) != set(given):
        raise CheckpointError(
            f"the checkpoint has {kind} generators {sorted(saved)} but {sorted(given)} were "
            "given to restore: pass the same names as when saving"
        )


def restore_rng_state(
    state: Mapping[str, Any],
    numpy_generators: Mapping[str, np.random.Generator] | None = None,
    torch_generators: Mapping[str, torch.Generator] | None = None,
) -> None:
    """Put back the streams saved by :func:`rng_state`, modifying the given generators in place."""
    numpy_generators, torch_generators = numpy_generators or {}, torch_generators or {}
    missing = sorted(set(_RNG_KEYS) - set(state))
    if missing:
        raise CheckpointError(f"RNG state lacks {missing}: not made by rng_state()")
    _same_names(state["numpy"], "numpy", numpy_generators)
    _same_names(state["torch"], "torch", torch_generators)
    python_version, python_internal, python_gauss = state["python"]
    random.setstate((python_version, tuple(python_internal), python_gauss))
    np.random.set_state(state["numpy_global"])  # noqa: NPY002
    torch.set_rng_state(state["torch_cpu"])
    if state["torch_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])
    for name, generator in numpy_generators.items():
        generator.bit_generator.state = state["numpy"][name]
    for name, generator in torch_generators.items():
        generator.set_state(state["torch"][name])


def _check_plain(value: Any, where: str) -> None:
    """Raise TypeError at the first object ``weights_only`` loading would refuse."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) not in (str, int):
                raise TypeError(f"{where} has key {key!r}; checkpoint keys must be str or int")
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
    else:
        raise TypeError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}; a checkpoint "
            "holds only tensors, dicts, lists, tuples, ints, floats, bools, strings and None"
        )


def _checkpoints(run_dir: str | Path | RunDirectory) -> list[tuple[int, Path]]:
    """``(number, path)`` of the run's checkpoint files, oldest first."""
    directory = RunDirectory(run_dir).checkpoints_dir
    if not directory.is_dir():
        return []
    found = [(_NAME.fullmatch(p.name), p) for p in directory.iterdir()]
    return sorted((int(match[1]), path) for match, path in found if match)


def save_checkpoint(
    run_dir: str | Path | RunDirectory, state: Mapping[str, Any], *, keep: int = 2
) -> Path:
    """Write ``state`` as the run's next checkpoint, atomically; keep the newest ``keep``.

    ``state`` is plain data: e.g. ``{"models": {"policy": policy.state_dict()},
    "optimizers": {"policy": optimizer.state_dict()}, "counters": {"env_step": 5000,
    "episode": 212}, "rng": rng_state(...)}``. Anything else (a numpy array, a module) is a
    TypeError naming where it is, raised before the file is written.

    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> path = save_checkpoint(run, {"counters": {"episode": 3}, "w": torch.zeros(2)})
    >>> path.name
    'checkpoint-000001.pt'
    >>> load_checkpoint(path)["counters"]
    {'episode': 3}
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping, got {type(state).__name__}")
    _check_plain(dict(state), "state")
    directory = RunDirectory(run_dir).checkpoints_dir
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".checkpoint-*.tmp-*"):  # left by a process killed mid-save
        stale.unlink(missing_ok=True)
    existing = _checkpoints(run_dir)
    number = existing[-1][0] + 1 if existing else 1
    path = atomic_torch_save(
        {"format": _FORMAT, "version": 1, "state": dict(state)},
        directory / f"checkpoint-{number:06d}.pt",
    )
    for _, old in existing[: max(0, len(existing) + 1 - keep)]:
        old.unlink(missing_ok=True)
    return path


def _one_line_reason(error: Exception) -> str:
    """The gist of torch.load's error: its multi-paragraph advice cut down to the cause."""
    text = str(error)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
        text = text.split("Please use", 1)[0].split("Check the documentation", 1)[0]
    text = " ".join(text.split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The state saved by :func:`save_checkpoint`, loaded with ``weights_only=True``.

    Raises :class:`CheckpointError` naming the file if it is missing, truncated, garbage,
    not an rlbasics checkpoint, or holds anything but plain data (nothing from it runs).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        reason = _one_line_reason(error)
        if "Unsupported global" in reason:
            raise CheckpointError(
                f"checkpoint {path} was refused: it holds objects other than tensors and "
                f"plain data, which could run code when loaded ({reason})"
            ) from None
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated or not a checkpoint): {reason}"
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != _FORMAT:
        raise CheckpointError(f"{path} is not an rlbasics checkpoint")
    return saved["state"]


def latest_checkpoint(run_dir: str | Path | RunDirectory) -> tuple[Path, dict[str, Any]] | None:
    """``(path, state)`` of the newest checkpoint that loads, or None if there is none.

    An unloadable newer file is skipped with a warning (the one before it is used); if
    checkpoints exist but none loads, CheckpointError — never a silent restart from zero.
    """
    errors = []
    for _, path in reversed(_checkpoints(run_dir)):
        try:
            state = load_checkpoint(path)
        except CheckpointError as error:
            warnings.warn(f"skipping {error}", stacklevel=2)
            errors.append(str(error))
            continue
        return path, state
    if errors:
        raise CheckpointError("no checkpoint of the run loads: " + "; ".join(errors))
    return None
