"""Bad input to `rlbasics`: a one-line error on stderr, exit status 2, and nothing written.

Everything is checked — the config, the env id, the seeds, the output folder, a learner
built once — before the first directory is made, so each case below must leave the output
folder exactly as it was (empty, or holding only the file the case put there).
"""

import pytest
from cli_helpers import run_cli

GOOD_TOML = 'lr = 0.02\nhidden_sizes = [16, 16]\n'


def tree(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


# (extra arguments, text the error must contain). {tmp} is the test's folder; the output
# folder is {tmp}/runs unless the case names another.
CASES = {
    "unknown env id, with Gymnasium's suggestion": (
        ["--env", "CartPol-v1"], "Environment `CartPol` doesn't exist. Did you mean: `CartPole`?"),
    "unknown env version": (["--env", "CartPole-v9"], "It provides versioned environments"),
    "env module that does not exist": (["--env", "nosuchmodule:Foo-v0"],
                                       "No module named 'nosuchmodule'"),
    "env that cannot be built without arguments": (
        ["--env", "rlbasics/TabularMDP-v0"], "cannot build a reinforce learner"),
    "unknown agent": (["--agent", "ppo"], "invalid choice: 'ppo'"),
    "unknown config key, with a suggestion": (["--set", "lern=0.1"],
                                              "unknown config key 'lern' for ReinforceConfig "
                                              "(did you mean 'lr'?)"),
    "ill-typed value": (["--set", "lr=fast"], "config key 'lr' must be float, got 'fast'"),
    "ill-typed tuple item": (["--set", "hidden_sizes=32,x"], "config key 'hidden_sizes' must be"),
    "value outside a Literal": (["--set", "baseline=critic"],
                                "config key 'baseline' must be one of none, mean, value"),
    "override without =": (["--set", "lr"], "an override must look like KEY=VALUE"),
    "override without a key": (["--set", "=3"], "an override must look like KEY=VALUE"),
    "empty env id": (["--set", "env_id="], "env_id must be a non-empty Gymnasium env id"),
    "ill-typed optional value": (["--set", "stop_return=high"],
                                 "config key 'stop_return' must be float | None, got 'high'"),
    "unknown activation": (["--set", "activation=swish"],
                           "activation must be one of ['elu', 'gelu', 'relu', 'silu', 'tanh'], "
                           "got 'swish'"),
    "unknown device": (["--set", "device=tpu"], "cannot build a reinforce learner for "
                       "CartPole-v1: Expected one of cpu, cuda"),
    "zero-width layer": (["--set", "hidden_sizes=0"],
                         "hidden_sizes must be a tuple of ints >= 1, got (0,)"),
    "gamma above 1": (["--set", "gamma=1.5"], "gamma must be a number in [0, 1], got 1.5"),
    "gamma below 0": (["--set", "gamma=-0.1"], "gamma must be a number in [0, 1], got -0.1"),
    "gamma NaN": (["--set", "gamma=nan"], "gamma must be a number in [0, 1], got nan"),
    "lr zero": (["--set", "lr=0"], "lr must be a finite number > 0, got 0.0"),
    "lr negative": (["--set", "lr=-0.01"], "lr must be a finite number > 0, got -0.01"),
    "lr infinite": (["--set", "lr=inf"], "lr must be a finite number > 0, got inf"),
    "negative entropy bonus": (["--set", "entropy_coef=-1"],
                               "entropy_coef must be a finite number >= 0, got -1.0"),
    "no evaluation episodes": (["--set", "eval_episodes=0"],
                               "eval_episodes must be an int >= 1, got 0"),
    "zero budget": (["--set", "total_steps=0"], "total_steps must be an int >= 1, got 0"),
    "total return without whole episodes": (["--set", "weights=total_return"],
                                            "weights='total_return' needs whole episodes"),
    "negative seed": (["--seeds", "-1"], "seed must be an int >= 0, got -1"),
    "one negative seed among good ones": (["--seeds", "0", "1", "-2"],
                                          "seed must be an int >= 0, got -2"),
    "seed that is not an int": (["--seeds", "one"], "argument --seeds: invalid int value"),
    "repeated seed": (["--seeds", "0", "1", "0"], "seeds must be distinct, got [0]"),
    "seeds given twice": (["--seeds", "1", "--set", "seed=2"], "with --seeds or the config"),
    "zero workers": (["--workers", "0"], "argument --workers: must be an int >= 1, got '0'"),
    "negative checkpoint interval": (["--checkpoint-seconds", "-1"],
                                     "must be a number >= 0, got '-1'"),
    "output path that is a file": (["--out", "{tmp}/file"], "output path {tmp}/file is a file"),
    "output path below a file": (["--out", "{tmp}/file/runs"], "output path {tmp}/file is a file"),
    "missing config file": (["--config", "{tmp}/missing.toml"],
                            "config file {tmp}/missing.toml does not exist"),
    "config file that is not TOML": (["--config", "{tmp}/garbage.toml"], "is not valid TOML"),
    "config file with an unknown key": (["--config", "{tmp}/unknown.toml"],
                                        "unknown config key 'learning_rate'"),
    "config file with an ill-typed value": (["--config", "{tmp}/illtyped.toml"],
                                            "config key 'num_envs' must be int, got '64'"),
    "resume of a folder that does not exist": (["--resume", "{tmp}/nowhere"],
                                               "{tmp}/nowhere does not exist"),
    "resume of a folder without runs": (["--resume", "{tmp}/empty"],
                                        "is not a run directory and holds none"),
    "resume with seeds": (["--resume", "{tmp}/empty", "--seeds", "0"],
                          "--resume continues runs as they were: --seeds and --out do not apply"),
}


@pytest.mark.parametrize(("args", "expected"), list(CASES.values()), ids=list(CASES))
def test_bad_train_input_is_one_line_exit_2_and_creates_nothing(tmp_path, capsys, args,
                                                                 expected):
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "garbage.toml").write_bytes(b"lr = = 0.1\n\x00\xff")
    (tmp_path / "unknown.toml").write_text("learning_rate = 0.1\n")
    (tmp_path / "illtyped.toml").write_text('num_envs = "64"\n')
    (tmp_path / "good.toml").write_text(GOOD_TOML)
    (tmp_path / "empty").mkdir()
    before = tree(tmp_path)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    if "--out" not in args and "--resume" not in args:
        args += ["--out", str(tmp_path / "runs")]
    code, out, err = run_cli(["train", *args], capsys)
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err  # one line
    assert err.startswith("rlbasics train: error: ")
    assert expected.replace("{tmp}", str(tmp_path)) in err
    assert tree(tmp_path) == before  # no run directory, no output folder, nothing


def test_there_are_at_least_twelve_bad_input_cases():
    assert len(CASES) >= 12


OTHER_CASES = {
    "eval of a missing folder": (["eval", "{tmp}/nowhere"], "{tmp}/nowhere does not exist"),
    "eval of zero episodes": (["eval", "{tmp}", "--episodes", "0"], "must be an int >= 1"),
    "eval video without imageio": (["eval", "{tmp}", "--video", "{tmp}/a.mp4"],
                                   "--video needs the optional package imageio"),
    "plot of a missing folder": (["plot", "{tmp}/nowhere", "--out", "{tmp}/a.png"],
                                 "run path {tmp}/nowhere does not exist"),
    "plot to a non-PNG file": (["plot", "{tmp}", "--out", "{tmp}/a.jpg"],
                               "--out must end in .png"),
    "plot with an unknown x axis": (["plot", "{tmp}", "--x", "hours"], "invalid choice: 'hours'"),
    "plot with bad smoothing": (["plot", "{tmp}", "--out", "{tmp}/a.png", "--smoothing", "ma:0"],
                                "smoothing must be None, 'ma:WINDOW'"),
    "plot of a folder without runs": (["plot", "{tmp}", "--out", "{tmp}/a.png"],
                                      "no runs with finished episodes"),
    "contrast with one seed": (["contrast", "--set", "seeds=1", "--out", "{tmp}/c.png"],
                               "seeds must be an integer >= 2, got 1"),
    "contrast with an unknown field": (["contrast", "--set", "seed=1", "--out", "{tmp}/c.png"],
                                       "unknown config key 'seed' for ContrastConfig"),
    "contrast figure not a PNG": (["contrast", "--out", "{tmp}/c.pdf"], "--out must end in .png"),
    "unknown command": (["fly"], "invalid choice: 'fly'"),
}


@pytest.mark.parametrize(("args", "expected"), list(OTHER_CASES.values()), ids=list(OTHER_CASES))
def test_bad_eval_and_plot_input_is_one_line_exit_2(tmp_path, capsys, args, expected):
    before = tree(tmp_path)
    code, _, err = run_cli([arg.replace("{tmp}", str(tmp_path)) for arg in args], capsys)
    assert code == 2
    error_lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(error_lines) == 1, err
    assert expected.replace("{tmp}", str(tmp_path)) in error_lines[0]
    assert tree(tmp_path) == before


def test_a_good_config_file_is_accepted_and_overridden_by_set(tmp_path, capsys):
    """The counterpart of the cases above: the same folder set-up, valid input, a run."""
    (tmp_path / "good.toml").write_text(GOOD_TOML)
    code, _, err = run_cli(["train", "--out", str(tmp_path / "runs"), "--config",
                            str(tmp_path / "good.toml"), "--set", "lr=0.03",
                            "--set", "num_envs=4", "--set", "steps_per_update=8",
                            "--set", "total_steps=32", "--set", "eval_every=0"], capsys)
    assert code == 0, err
    [config] = (tmp_path / "runs").glob("*/seed-0/config.toml")
    text = config.read_text()
    assert "lr = 0.03\n" in text and "hidden_sizes = [\n    16,\n    16,\n]" in text
