"""Dataclass configs: TOML round trip, typed `--set` overrides, and every bad input's error."""

from dataclasses import dataclass
from typing import Literal

import pytest

from rlbasics.configs import (
    ConfigError,
    apply_overrides,
    assert_same_config,
    config_from_dict,
    config_to_dict,
    config_to_toml,
    parse_override,
    read_config,
)
from rlbasics.runs import write_config


@dataclass(frozen=True)
class Config:
    lr: float = 0.01
    gamma: float = 0.99
    seed: int = 0
    hidden: tuple[int, ...] = (64, 64)
    baseline: Literal["none", "mean", "value"] = "none"
    normalize: bool = False
    env: str = "CartPole-v1"
    max_grad_norm: float | None = None
    shape: tuple[int, float] = (1, 0.5)

    def __post_init__(self):
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")


def test_toml_round_trip_restores_the_same_config(tmp_path):
    config = Config(lr=3e-4, seed=7, hidden=(32,), baseline="value", normalize=True,
                    max_grad_norm=0.5, env="Acro, bot \"v1\"")
    write_config(tmp_path / "config.toml", config)
    assert read_config(tmp_path / "config.toml", Config) == config
    default = Config()  # max_grad_norm None is left out of the file and read back as None
    write_config(tmp_path / "default.toml", default)
    assert "max_grad_norm" not in (tmp_path / "default.toml").read_text()
    assert read_config(tmp_path / "default.toml", Config) == default


def test_config_to_dict_and_back():
    config = Config(seed=3)
    assert config_from_dict(Config, config_to_dict(config)) == config
    assert config_from_dict(Config, {"lr": 1}).lr == 1.0  # TOML's `lr = 1` is an int
    assert isinstance(config_from_dict(Config, {"lr": 1}).lr, float)
    assert config_from_dict(Config, {"hidden": [8, 8, 8]}).hidden == (8, 8, 8)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"lrr": 0.1}, r"unknown config key 'lrr' for Config \(did you mean 'lr'\?\); "
                       r"allowed keys: lr, gamma, seed, hidden"),
        ({"lr": "fast"}, r"config key 'lr' must be float, got 'fast' \(str\)"),
        ({"seed": 1.5}, r"'seed' must be int, got 1.5 \(float\)"),
        ({"seed": True}, r"'seed' must be int, got True \(bool\)"),
        ({"normalize": 1}, r"'normalize' must be bool, got 1 \(int\)"),
        ({"hidden": [64, "a"]}, r"'hidden' must be tuple\[int, \.\.\.\], got \[64, 'a'\]"),
        ({"hidden": 64}, r"'hidden' must be tuple\[int, \.\.\.\], got 64"),
        ({"shape": [1, 2, 3]}, r"'shape' must be tuple\[int, float\]"),
        ({"baseline": "critic"}, r"'baseline' must be Literal\['none', 'mean', 'value'\], "
                                 r"got 'critic'"),
        ({"max_grad_norm": "big"}, r"'max_grad_norm' must be float \| None, got 'big'"),
        ({"env": None}, r"'env' must be str, got None"),
        ({"gamma": 1.5}, r"invalid Config: gamma must be in \[0, 1\], got 1.5"),
    ],
)
def test_config_from_dict_rejects_bad_keys_and_values(values, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(Config, values)


def test_config_from_dict_rejects_a_non_table_and_a_non_dataclass():
    with pytest.raises(ConfigError, match="must be a table of key = value, got list"):
        config_from_dict(Config, [("lr", 0.1)])
    with pytest.raises(TypeError, match="cls must be a dataclass type"):
        config_from_dict(dict, {})


def test_a_field_of_an_unsupported_type_is_a_type_error():
    @dataclass
    class Nested:
        layers: dict = None

    with pytest.raises(TypeError, match="'layers' has type dict, which configs do not support"):
        config_from_dict(Nested, {"layers": {}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lr=0.1", ("lr", 0.1)),
        ("lr = 1", ("lr", 1.0)),
        ("seed=3", ("seed", 3)),
        ("hidden=32,32", ("hidden", (32, 32))),
        ("hidden=(16, 8)", ("hidden", (16, 8))),
        ("hidden=[4]", ("hidden", (4,))),
        ("hidden=(4,)", ("hidden", (4,))),
        ("hidden=()", ("hidden", ())),
        ("shape=2,0.25", ("shape", (2, 0.25))),
        ("baseline=value", ("baseline", "value")),
        ("normalize=true", ("normalize", True)),
        ("normalize=No", ("normalize", False)),
        ("normalize=1", ("normalize", True)),
        ("env=MountainCar-v0", ("env", "MountainCar-v0")),
        ("env=a=b", ("env", "a=b")),  # only the first '=' separates key from value
        ("max_grad_norm=none", ("max_grad_norm", None)),
        ("max_grad_norm=0.5", ("max_grad_norm", 0.5)),
    ],
)
def test_parse_override_parses_by_the_field_type(text, expected):
    key, value = parse_override(Config, text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("lr", r"an override must look like KEY=VALUE, got 'lr'"),
        ("=0.1", r"an override must look like KEY=VALUE, got '=0.1'"),
        ("lrr=0.1", r"unknown config key 'lrr' for Config \(did you mean 'lr'\?\); allowed keys"),
        ("learning_rate=0.1", r"unknown config key 'learning_rate' for Config; allowed keys: lr"),
        ("lr=fast", r"config key 'lr' must be float, got 'fast'"),
        ("seed=1.5", r"config key 'seed' must be int, got '1.5'"),
        ("seed=none", r"config key 'seed' must be int, got 'none'"),
        ("hidden=64,a", r"config key 'hidden' must be tuple\[int, \.\.\.\], got '64,a'"),
        ("shape=1", r"config key 'shape' must be tuple\[int, float\], got '1'"),
        ("baseline=critic", r"config key 'baseline' must be one of none, mean, value; "
                            r"got 'critic'"),
        ("normalize=maybe", r"config key 'normalize' must be bool, got 'maybe'"),
        ("max_grad_norm=big", r"config key 'max_grad_norm' must be float \| None, got 'big'"),
    ],
)
def test_parse_override_rejects_bad_overrides(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_override(Config, text)


def test_apply_overrides_applies_in_order_and_validates():
    config = apply_overrides(Config(), ["lr=0.1", "hidden=8", "lr=0.2"])
    assert config == Config(lr=0.2, hidden=(8,))
    with pytest.raises(ConfigError, match=r"gamma must be in \[0, 1\], got 2.0"):
        apply_overrides(Config(), ["gamma=2"])


def test_assert_same_config_accepts_a_config_read_back_from_toml(tmp_path):
    config = Config(hidden=(32, 16))
    write_config(tmp_path / "config.toml", config)
    saved = read_config(tmp_path / "config.toml")  # a dict with a list for the tuple
    assert saved["hidden"] == [32, 16]
    assert_same_config(saved, config)


def test_assert_same_config_names_every_differing_key():
    saved = config_to_dict(Config())
    with pytest.raises(ConfigError, match=r"lr \(saved 0.01, new 0.02\); "
                                          r"max_grad_norm \(saved unset, new 1.0\); resume"):
        assert_same_config(saved, Config(lr=0.02, max_grad_norm=1.0))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"lr = ", r"config file .*bad.toml is not valid TOML"),
        (b"\xff\xfe\x00garbage", r"config file .*bad.toml is not valid TOML"),
        (b"lr = 'fast'", r"bad.toml: config key 'lr' must be float, got 'fast'"),
        (b"lrr = 0.1", r"bad.toml: unknown config key 'lrr'"),
    ],
)
def test_read_config_names_the_file_on_bad_content(tmp_path, content, match):
    (tmp_path / "bad.toml").write_bytes(content)
    with pytest.raises(ConfigError, match=match):
        read_config(tmp_path / "bad.toml", Config)


def test_read_config_of_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file .*nothing.toml does not exist"):
        read_config(tmp_path / "nothing.toml")


def test_none_is_refused_where_toml_would_read_back_another_value():
    @dataclass
    class Clipped:
        clip: float | None = 0.2

    with pytest.raises(ConfigError, match="'clip' is None but its default is not"):
        config_to_toml(Clipped(clip=None))
    assert config_to_toml(Clipped()) == "clip = 0.2\n"
