"""Checkpoints: exact RNG and training-state round trips, refusal of malicious or broken files."""

import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from rlbasics.checkpoints import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from rlbasics.runs import RunDirectory


def _draws(numpy_generators, torch_generators):
    """A few numbers from every stream, to compare two continuations."""
    return {
        "python": [random.random() for _ in range(3)] + [random.gauss(0, 1)],
        "numpy_global": np.random.random(3).tolist(),  # noqa: NPY002 - the legacy stream
        "numpy": {name: g.normal(size=3).tolist() for name, g in numpy_generators.items()},
        "torch_cpu": torch.rand(3).tolist(),
        "torch": {name: torch.randn(3, generator=g).tolist()
                  for name, g in torch_generators.items()},
    }


def test_restored_rng_streams_continue_exactly_as_the_original(tmp_path):
    random.seed(1)
    np.random.seed(2)  # noqa: NPY002 - the legacy global stream is saved too
    torch.manual_seed(3)
    numpy_generators = {"env": np.random.default_rng(4),
                        "sampler": np.random.Generator(np.random.MT19937(5))}
    torch_generators = {"policy": torch.Generator().manual_seed(6)}
    random.gauss(0, 1)  # leaves a cached second Gaussian in Python's state
    for generator in numpy_generators.values():
        generator.normal(size=7)  # advance off the seed

    path = save_checkpoint(tmp_path, {"rng": rng_state(numpy_generators, torch_generators)})
    original = _draws(numpy_generators, torch_generators)
    advanced = _draws(numpy_generators, torch_generators)
    assert advanced != original  # the streams moved on: the comparison below can fail

    restore_rng_state(load_checkpoint(path)["rng"], numpy_generators, torch_generators)
    assert _draws(numpy_generators, torch_generators) == original


def test_restoring_into_fresh_generators_of_a_new_process_state(tmp_path):
    source = {"env": np.random.default_rng(11)}
    source["env"].random(5)
    path = save_checkpoint(tmp_path, {"rng": rng_state(source)})
    expected = source["env"].random(4)
    target = {"env": np.random.default_rng(999)}  # e.g. a freshly made env after resume
    restore_rng_state(load_checkpoint(path)["rng"], target)
    np.testing.assert_array_equal(target["env"].random(4), expected)


def test_restoring_other_generators_than_were_saved_is_refused():
    state = rng_state({"env": np.random.default_rng(0)})
    with pytest.raises(CheckpointError, match=r"the checkpoint has numpy generators \['env'\] "
                                              r"but \['action'\] were given to restore"):
        restore_rng_state(state, {"action": np.random.default_rng(0)})
    with pytest.raises(CheckpointError, match=r"numpy generators \['env'\] but \[\] were given"):
        restore_rng_state(state)  # forgetting one would silently diverge
    with pytest.raises(CheckpointError,
                       match=r"RNG state lacks \['numpy', 'numpy_global', 'python', 'torch',"):
        restore_rng_state({"torch_cpu": state["torch_cpu"]})


def test_model_and_optimizer_round_trip_continue_identically(tmp_path):
    def make():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        return model, torch.optim.Adam(model.parameters(), lr=0.01)

    def step(model, optimizer, inputs):
        optimizer.zero_grad()
        model(inputs).square().sum().backward()
        optimizer.step()

    inputs = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    model, optimizer = make()
    step(model, optimizer, inputs)
    path = save_checkpoint(tmp_path, {"models": {"policy": model.state_dict()},
                                      "optimizers": {"policy": optimizer.state_dict()},
                                      "counters": {"env_step": 5000, "episode": 212}})
    step(model, optimizer, inputs)

    resumed, resumed_optimizer = make()
    state = load_checkpoint(path)
    resumed.load_state_dict(state["models"]["policy"])
    resumed_optimizer.load_state_dict(state["optimizers"]["policy"])
    step(resumed, resumed_optimizer, inputs)
    assert state["counters"] == {"env_step": 5000, "episode": 212}
    for original, restored in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(original, restored)


class _Exploit:
    """Unpickling this runs ``exec``, which creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    # The payload is live: plain pickle runs it.
    pickle.loads(pickle.dumps(_Exploit(tmp_path / "proof")))
    assert (tmp_path / "proof").exists()

    marker = tmp_path / "marker"
    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    raw = checkpoints / "checkpoint-000001.pt"  # a bare pickle (torch's legacy format)
    raw.write_bytes(pickle.dumps(_Exploit(marker), protocol=2))
    zipped = checkpoints / "checkpoint-000002.pt"  # torch.save's zip format
    torch.save({"format": "rlbasics-checkpoint", "state": _Exploit(marker)}, zipped)
    for path in (raw, zipped):
        with pytest.raises(CheckpointError, match=r"checkpoint .*was refused: .*"
                                                  r"Unsupported global: GLOBAL exec"):
            load_checkpoint(path)
    with pytest.warns(UserWarning, match="was refused"), pytest.raises(
        CheckpointError, match="no checkpoint of the run loads"
    ):
        latest_checkpoint(tmp_path / "run")
    assert not marker.exists()


def _valid_checkpoint_bytes(tmp_path):
    path = save_checkpoint(tmp_path / "source", {"weights": torch.randn(1000)})
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make_content", "match"),
    [
        (lambda good: good[: len(good) // 2], "cannot be read .*PytorchStreamReader failed"),
        (lambda good: good[:10], "cannot be read"),
        (lambda good: b"", "cannot be read .*EOFError"),
        (lambda good: np.random.default_rng(0).bytes(300), "cannot be read"),
        (lambda good: b"hello world\n", "cannot be read"),
    ],
    ids=["half", "ten-bytes", "empty", "random-bytes", "text"],
)
def test_a_broken_checkpoint_is_a_clean_error_naming_the_file(tmp_path, make_content, match):
    path = tmp_path / "broken.pt"
    path.write_bytes(make_content(_valid_checkpoint_bytes(tmp_path)))
    with pytest.raises(CheckpointError, match=f"checkpoint {path} {match}"):
        load_checkpoint(path)


def test_a_missing_file_or_a_foreign_torch_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint .*nothing.pt does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")
    torch.save({"weights": torch.ones(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign.pt is not an rlbasics checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


@pytest.mark.parametrize(
    ("state", "match"),
    [
        ({"rng": {"key": np.arange(3)}}, r"state\['rng'\]\['key'\] is a numpy.ndarray"),
        ({"counters": {"episode": np.int64(3)}}, r"state\['counters'\]\['episode'\] is a numpy"),
        ({"return": np.float64(1.5)}, r"state\['return'\] is a numpy.float64"),
        ({"models": [torch.nn.Linear(1, 1)]}, r"state\['models'\]\[0\] is a torch.nn"),
        ({("a", 1): 0}, r"state has key \('a', 1\); checkpoint keys must be str or int"),
    ],
)
def test_state_that_would_not_load_safely_is_refused_before_writing(tmp_path, state, match):
    with pytest.raises(TypeError, match=match):
        save_checkpoint(tmp_path, state)
    assert list(RunDirectory(tmp_path).checkpoints_dir.glob("*")) == []


def test_keep_bounds_the_number_of_files_and_latest_is_the_newest(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    for step in range(4):
        save_checkpoint(tmp_path, {"counters": {"step": step}}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["checkpoint-000003.pt", "checkpoint-000004.pt"]
    path, state = latest_checkpoint(tmp_path)
    assert (path.name, state["counters"]["step"]) == ("checkpoint-000004.pt", 3)
    with pytest.raises(ValueError, match="keep must be >= 1, got 0"):
        save_checkpoint(tmp_path, {}, keep=0)


def test_latest_falls_back_to_the_previous_checkpoint_when_the_newest_is_corrupt(tmp_path):
    save_checkpoint(tmp_path, {"counters": {"step": 1}})
    newest = save_checkpoint(tmp_path, {"counters": {"step": 2}})
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(UserWarning, match=r"skipping checkpoint .*checkpoint-000002.pt cannot be"):
        path, state = latest_checkpoint(tmp_path)
    assert (path.name, state["counters"]["step"]) == ("checkpoint-000001.pt", 1)


def test_a_temporary_file_left_by_a_killed_save_is_cleaned_up(tmp_path):
    save_checkpoint(tmp_path, {"step": 1})
    stale = tmp_path / "checkpoints" / ".checkpoint-000002.pt.tmp-1a2b3c4d"
    stale.write_bytes(b"half a checkpoint")
    save_checkpoint(tmp_path, {"step": 2})
    assert not stale.exists()
    assert latest_checkpoint(tmp_path)[1] == {"step": 2}


_SAVER = textwrap.dedent("""
    import sys
    import torch
    from rlbasics.checkpoints import save_checkpoint

    weights = torch.randn(2_000_000)  # 8 MB: a save takes long enough to be killed inside
    print("ready", flush=True)
    step = 0
    while True:
        step += 1
        save_checkpoint(sys.argv[1], {"weights": weights, "counters": {"step": step}})
""")


@pytest.mark.slow
def test_kill_9_during_checkpoint_writes_always_leaves_a_loadable_checkpoint(tmp_path):
    rng = np.random.default_rng(7)
    last_step = 0
    for _ in range(4):
        child = subprocess.Popen([sys.executable, "-c", _SAVER, str(tmp_path)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n"
        child.stdout.close()
        time.sleep(rng.uniform(0.2, 1.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
        found = latest_checkpoint(tmp_path)
        if found is not None:  # killed before its first save completed: nothing to load
            state = found[1]
            assert state["weights"].shape == (2_000_000,)
            last_step = state["counters"]["step"]
    assert last_step > 0
