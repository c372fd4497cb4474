"""What the command-line tests share (pytest puts this folder on sys.path)."""

from rlbasics.cli import main


def run_cli(args, capsys):
    """``rlbasics ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's --help, --version and usage errors
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


_FAULTY_ENV = '''"""An env whose step {what} after {after} steps in all (a test fixture)."""
import gymnasium as gym
import numpy as np


class FaultyEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.total = 0, getattr(self, "total", 0)
        return np.zeros(2, np.float32), {{}}

    def step(self, action):
        self.t += 1
        self.total += 1
        reward = 1.0
        if self.total > {after}:
            {fault}
        return np.zeros(2, np.float32), reward, self.t == 5, False, {{}}


gym.register("{env_id}", entry_point=FaultyEnv)
'''
_FAULTS = {"raise": ("raises", 'raise RuntimeError("the env broke")'),
           "nan": ("returns a NaN reward", 'reward = float("nan")')}


def write_faulty_env(folder, module, env_id, fault, after):
    """Write ``folder/module.py``, registering ``env_id``: 5-step episodes of reward 1 until,
    after ``after`` steps in all, each step faults (``fault``: "raise" a RuntimeError, or
    return a "nan" reward). Worker processes import it as ``module:env_id`` (put ``folder``
    on sys.path)."""
    what, code = _FAULTS[fault]
    text = _FAULTY_ENV.format(what=what, after=after, fault=code, env_id=env_id)
    (folder / f"{module}.py").write_text(text)
