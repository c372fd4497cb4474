"""Configs as dataclasses: typed conversion to and from dicts, TOML files and ``--set`` overrides.

An experiment's config is one flat dataclass (CleanRL's habit): every field has a type and a
default, and the resolved config of a run is stored as ``config.toml`` in its run directory.
This module turns such a dataclass into a plain dict and back, checking every key and type
on the way in, so that a typo in a config file or on the command line is a clear error and
never a silently ignored setting.

Supported field types: ``bool``, ``int``, ``float`` (an int is accepted and converted),
``str``, ``Literal[...]`` of str/int choices, ``tuple[T, ...]`` and ``tuple[T1, T2]`` of
those, and ``X | None``. TOML has no null: a field whose value is ``None`` is left out of the
file and read back as its default, so ``None`` is storable only where the default is ``None``.

Every problem raises :class:`ConfigError` (a ``ValueError``), whose message names the key,
the value and what is allowed; the command line turns it into a one-line error.
(Writing the file atomically is :func:`rlbasics.runs.write_config`.)
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "apply_overrides",
    "assert_same_config",
    "config_from_dict",
    "config_to_dict",
    "config_to_toml",
    "parse_override",
    "read_config",
]

ConfigT = TypeVar("ConfigT")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class ConfigError(ValueError):
    """A config key, value or file that is not allowed; the message says what is."""


def _field_types(cls: type) -> dict[str, Any]:
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"cls must be a dataclass type, got {cls!r}")
    hints = typing.get_type_hints(cls)  # resolves `from __future__ import annotations` strings
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _unknown_key(cls: type, key: str, allowed: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(
        f"unknown config key {key!r} for {cls.__name__}{hint}; allowed keys: {', '.join(allowed)}"
    )


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _optional_arms(tp: Any) -> tuple[Any, ...] | None:
    """The non-None arms of a Union (``X | None``, ``Optional[X]``), or None if not a Union."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        return tuple(arm for arm in typing.get_args(tp) if arm is not type(None))
    return None


def _check(key: str, value: Any, tp: Any) -> Any:
    """``value`` converted to field type ``tp`` (int → float, list → tuple), or ConfigError."""
    wrong = ConfigError(
        f"config key {key!r} must be {_type_name(tp)}, got {value!r} ({type(value).__name__})"
    )
    arms = _optional_arms(tp)
    if arms is not None:
        if value is None and len(arms) < len(typing.get_args(tp)):
            return None
        for arm in arms:
            try:
                return _check(key, value, arm)
            except ConfigError:
                pass
        raise wrong
    origin = typing.get_origin(tp)
    if origin is Literal:
        for choice in typing.get_args(tp):  # type-exact so that True never matches 1
            if type(value) is type(choice) and value == choice:
                return value
        raise wrong
    if origin is tuple:
        item_types = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise wrong
        if len(item_types) == 2 and item_types[1] is Ellipsis:
            item_types = (item_types[0],) * len(value)
        if len(item_types) != len(value):
            raise wrong
        try:
            pairs = zip(value, item_types, strict=True)
            return tuple(_check(key, item, item_type) for item, item_type in pairs)
        except ConfigError:
            raise wrong from None
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if tp in (int, float, str):
        if isinstance(value, bool):  # bool is an int subclass; never a number here
            raise wrong
        if isinstance(value, tp):
            return value
        if tp is float and isinstance(value, int):
            return float(value)
        raise wrong
    raise TypeError(f"config key {key!r} has type {_type_name(tp)}, which configs do not support")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as a plain ``{field: value}`` dict (tuples stay tuples).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Config:
    ...     lr: float = 0.01
    ...     hidden: tuple[int, ...] = (64, 64)
    >>> config_to_dict(Config())
    {'lr': 0.01, 'hidden': (64, 64)}
    """
    if isinstance(config, Mapping):
        return dict(config)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}
    raise TypeError(
        f"config must be a dataclass instance or a mapping, got {type(config).__name__}"
    )


def config_from_dict(cls: type[ConfigT], values: Mapping[str, Any]) -> ConfigT:
    """Build dataclass ``cls`` from ``values``, checking every key and type.

    Missing keys take the field's default. Unknown keys and ill-typed values raise
    :class:`ConfigError`; so does a ``ValueError``/``TypeError`` from ``cls.__post_init__``
    (range checks such as ``gamma must be in [0, 1]``).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Config:
    ...     lr: float = 0.01
    ...     hidden: tuple[int, ...] = (64, 64)
    >>> config_from_dict(Config, {"lr": 1, "hidden": [32]})
    Config(lr=1.0, hidden=(32,))
    >>> config_from_dict(Config, {"learning_rate": 0.1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rlbasics.configs.ConfigError: unknown config key 'learning_rate' for Config; allowed keys: ...
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"a config must be a table of key = value, got {type(values).__name__}")
    types_by_key = _field_types(cls)
    checked = {}
    for key, value in values.items():
        if key not in types_by_key:
            raise _unknown_key(cls, key, list(types_by_key))
        checked[key] = _check(key, value, types_by_key[key])
    try:
        return cls(**checked)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"invalid {cls.__name__}: {error}") from error


def _parse_text(key: str, text: str, tp: Any) -> Any:
    """Parse the text of ``--set key=text`` as field type ``tp`` (the inverse of str())."""
    stripped = text.strip()
    wrong = ConfigError(f"config key {key!r} must be {_type_name(tp)}, got {text!r}")
    arms = _optional_arms(tp)
    if arms is not None:
        if stripped.lower() == "none" and len(arms) < len(typing.get_args(tp)):
            return None
        for arm in arms:
            try:
                return _parse_text(key, text, arm)
            except ConfigError:
                pass
        raise wrong
    origin = typing.get_origin(tp)
    if origin is Literal:
        for choice in typing.get_args(tp):
            if str(choice) == stripped:
                return choice
        choices = ", ".join(str(choice) for choice in typing.get_args(tp))
        raise ConfigError(f"config key {key!r} must be one of {choices}; got {text!r}")
    if origin is tuple:
        inner = stripped.strip("()[]").strip()
        items = inner.split(",") if inner else []
        if items and not items[-1].strip():  # a trailing comma, as in "(64,)"
            items.pop()
        item_types = typing.get_args(tp)
        if len(item_types) == 2 and item_types[1] is Ellipsis:
            item_types = (item_types[0],) * len(items)
        if len(item_types) != len(items):
            raise wrong
        try:
            pairs = zip(items, item_types, strict=True)
            return tuple(_parse_text(key, item, item_type) for item, item_type in pairs)
        except ConfigError:
            raise wrong from None
    if tp is bool:
        if stripped.lower() in _TRUE + _FALSE:
            return stripped.lower() in _TRUE
        raise wrong
    if tp in (int, float):
        try:
            return tp(stripped)
        except ValueError:
            raise wrong from None
    if tp is str:
        return text
    raise TypeError(f"config key {key!r} has type {_type_name(tp)}, which configs do not support")


def parse_override(cls: type, text: str) -> tuple[str, Any]:
    """Parse one ``--set key=value`` for dataclass ``cls``: ``(key, value of the field's type)``.

    bool accepts true/false/1/0/yes/no/on/off; tuples are comma-separated, brackets
    optional (``hidden=64,64`` or ``hidden=(64, 64)``); ``none`` sets an optional field to None.

    >>> from dataclasses import dataclass
    >>> from typing import Literal
    >>> @dataclass
    ... class Config:
    ...     lr: float = 0.01
    ...     hidden: tuple[int, ...] = (64, 64)
    ...     baseline: Literal["none", "mean", "value"] = "none"
    >>> parse_override(Config, "hidden=32,32")
    ('hidden', (32, 32))
    >>> parse_override(Config, "lr=fast")
    Traceback (most recent call last):
    ...
    rlbasics.configs.ConfigError: config key 'lr' must be float, got 'fast'
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"an override must look like KEY=VALUE, got {text!r}")
    types_by_key = _field_types(cls)
    if key not in types_by_key:
        raise _unknown_key(cls, key, list(types_by_key))
    return key, _parse_text(key, value, types_by_key[key])


def apply_overrides(config: ConfigT, overrides: Sequence[str]) -> ConfigT:
    """``config`` with each ``KEY=VALUE`` of ``overrides`` applied in order (later wins).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Config:
    ...     lr: float = 0.01
    ...     seed: int = 0
    >>> apply_overrides(Config(), ["lr=0.1", "seed=3", "lr=0.2"])
    Config(lr=0.2, seed=3)
    """
    values = config_to_dict(config)
    for text in overrides:
        key, value = parse_override(type(config), text)
        values[key] = value
    return config_from_dict(type(config), values)


def _comparable(config: Any) -> dict[str, Any]:
    """Values as TOML reads them back: tuples as lists, None left out."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in config_to_dict(config).items()
        if value is not None
    }


def _toml_ready(config: Any) -> dict[str, Any]:
    """The config as TOML can hold it: tuples as lists, None left out (TOML has no null)."""
    values = config_to_dict(config)
    if dataclasses.is_dataclass(config):
        for field in dataclasses.fields(config):
            if values.get(field.name, field.default) is None and field.default is not None:
                raise ConfigError(
                    f"config key {field.name!r} is None but its default is not: TOML cannot "
                    "store None, so this config would read back differently"
                )
    return _comparable(values)


def config_to_toml(config: Any) -> str:
    """``config`` (dataclass or mapping) as TOML text: tuples as arrays, None left out.

    >>> print(config_to_toml({"lr": 0.01, "hidden": (64, 64), "clip": None}), end="")
    lr = 0.01
    hidden = [
        64,
        64,
    ]
    """
    values = _toml_ready(config)
    try:
        return tomli_w.dumps(values)
    except TypeError as error:  # a value TOML has no type for
        raise ConfigError(f"config cannot be written as TOML: {error}") from error


def read_config(path: str | Path, cls: type[ConfigT] | None = None) -> ConfigT | dict[str, Any]:
    """Read a TOML config file; with ``cls``, validate it into that dataclass.

    A missing, unreadable or malformed file raises :class:`ConfigError` naming the file.
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            values = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    if cls is None:
        return values
    try:
        return config_from_dict(cls, values)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def _shown(values: Mapping[str, Any], key: str) -> str:
    return repr(values[key]) if key in values else "unset"


def assert_same_config(saved: Any, new: Any) -> None:
    """Refuse to resume a run with a config that differs from the one it was started with.

    Both may be dataclasses or dicts (as read back from ``config.toml``). Raises
    :class:`ConfigError` naming every differing key with both values.

    >>> assert_same_config({"lr": 0.01, "seed": 0}, {"lr": 0.01, "seed": 0})
    >>> assert_same_config({"lr": 0.01, "seed": 0}, {"lr": 0.02, "seed": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rlbasics.configs.ConfigError: ...: lr (saved 0.01, new 0.02); seed (saved 0, new 1); ...
    """
    saved_values, new_values = _comparable(saved), _comparable(new)
    differences = [
        f"{key} (saved {_shown(saved_values, key)}, new {_shown(new_values, key)})"
        for key in sorted(saved_values.keys() | new_values.keys())
        if key not in saved_values or key not in new_values or saved_values[key] != new_values[key]
    ]
    if differences:
        raise ConfigError(
            "config differs from the saved run's config: "
            + "; ".join(differences)
            + "; resume with the saved config or start a new run"
        )
