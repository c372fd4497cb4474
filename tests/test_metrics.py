"""Metrics CSVs: exact round trip, crash-cut last lines, resume truncation, and kill -9."""

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from rlbasics.metrics import MetricsWarning, MetricsWriter, read_metrics

FIELDS = ["episode", "return", "note"]


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "m.csv"
    rows = [
        {"episode": 0, "return": 0.1, "note": 'a, "quoted" note'},
        {"episode": np.int64(1), "return": np.float32(1.5), "note": "ünïcode"},
        {"episode": 2, "return": 1e-300, "note": None},
        {"episode": 3, "return": math.inf, "note": True},
        {"episode": 4, "return": math.nan, "note": ""},
        {"episode": 5, "return": 2 / 3, "note": "x"},
        {"episode": 6, "return": -0.0, "note": "line\u2028separator\x85next-line\x0c"},
    ]
    with MetricsWriter(path, FIELDS) as writer:
        for row in rows:
            writer.write(row)
    columns = read_metrics(path)
    assert columns["episode"].dtype == np.int64
    assert columns["episode"].tolist() == [0, 1, 2, 3, 4, 5, 6]
    # repr(float) is the shortest text that reads back as the same double.
    expected = [0.1, 1.5, 1e-300, math.inf, math.nan, 2 / 3, -0.0]
    np.testing.assert_array_equal(columns["return"], expected)
    assert columns["note"].tolist() == ['a, "quoted" note', "ünïcode", "", "1", "", "x",
                                        "line\u2028separator\x85next-line\x0c"]


@pytest.mark.parametrize(
    ("row", "error", "match"),
    [
        ({"episode": 0, "return": 1.0}, ValueError, r"missing columns \['note'\]"),
        ({"episode": 0, "return": 1.0, "note": "", "loss": 2}, ValueError,
         r"unknown columns \['loss'\]; its columns are \['episode', 'return', 'note'\]"),
        ({"episode": 0, "return": 1.0, "note": "two\nlines"}, ValueError,
         "column 'note': a value may not contain a line break"),
        ({"episode": 0, "return": [1.0], "note": ""}, TypeError,
         "column 'return': expected a number, string or None, got list"),
        ({"episode": 0, "return": np.ones(2), "note": ""}, TypeError,
         "column 'return': expected a number, string or None, got ndarray"),
    ],
)
def test_bad_rows_are_refused_and_nothing_is_written(tmp_path, row, error, match):
    path = tmp_path / "m.csv"
    with MetricsWriter(path, FIELDS) as writer, pytest.raises(error, match=match):
        writer.write(row)
    assert path.read_text() == "episode,return,note\n"


def test_bad_writer_arguments(tmp_path):
    with pytest.raises(ValueError, match="fieldnames must be non-empty and unique"):
        MetricsWriter(tmp_path / "m.csv", ["a", "a"])
    with pytest.raises(ValueError, match="fsync_interval must be >= 0 seconds, got -1"):
        MetricsWriter(tmp_path / "m.csv", ["a"], fsync_interval=-1)


def test_a_cut_last_line_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("episode,return\n0,1.5\n1,2.5\n2,3")  # "2,3" lost the rest of "2,3.25\n"
    with pytest.warns(MetricsWarning, match=r"skipping a last line cut short \(line 4\): '2,3'"):
        columns = read_metrics(path)
    assert columns["episode"].tolist() == [0, 1]
    assert columns["return"].tolist() == [1.5, 2.5]


def test_zeros_left_by_a_power_loss_are_a_cut_last_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(b"episode,return\n0,1.5\n\x00\x00\x00\x00")
    with pytest.warns(MetricsWarning, match="cut short"):
        assert read_metrics(path)["episode"].tolist() == [0]


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.warns(MetricsWarning, match="has no complete header line"):
        assert read_metrics(tmp_path / "empty.csv") == {}
    (tmp_path / "header.csv").write_text("episode,return\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        columns = read_metrics(tmp_path / "header.csv")
    assert list(columns) == ["episode", "return"]
    assert all(column.size == 0 for column in columns.values())


def test_a_malformed_line_before_the_last_is_an_error(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("episode,return\n0,1.5\n1\n2,3.5\n")
    with pytest.raises(ValueError, match=r"m.csv line 3: expected 2 fields, got 1: '1\\n'"):
        read_metrics(path)


def test_reading_a_missing_or_binary_file(tmp_path):
    with pytest.raises(ValueError, match=r"metrics file .*none.csv does not exist"):
        read_metrics(tmp_path / "none.csv")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        read_metrics(tmp_path / "binary.csv")


def test_reopening_appends_and_removes_a_cut_last_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("episode,return\n0,1.5\n1,2")
    with pytest.warns(MetricsWarning, match="removing a last line cut by a crash: '1,2'"):
        writer = MetricsWriter(path, ["episode", "return"])
    with writer:
        writer.write({"episode": 1, "return": 2.25})
    assert path.read_text() == "episode,return\n0,1.5\n1,2.25\n"


def test_reopening_with_other_columns_is_refused(tmp_path):
    path = tmp_path / "m.csv"
    MetricsWriter(path, ["episode", "return"]).close()
    with pytest.raises(ValueError, match="has columns 'episode,return', expected 'episode,loss'"):
        MetricsWriter(path, ["episode", "loss"])


def test_keep_rows_before_makes_a_resume_write_each_row_once(tmp_path):
    path = tmp_path / "episodes.csv"
    with MetricsWriter(path, ["episode", "return"]) as writer:
        for episode in range(10):
            writer.write({"episode": episode, "return": float(episode)})
    # The checkpoint was taken after episode 5 (counter = 6); episodes 6-9 were written after
    # it, then the process died. The resumed run replays episodes 6-9.
    with MetricsWriter(path, ["episode", "return"]) as writer:
        assert writer.keep_rows_before("episode", 6) == 4
        for episode in range(6, 10):
            writer.write({"episode": episode, "return": float(episode)})
    assert read_metrics(path)["episode"].tolist() == list(range(10))
    with MetricsWriter(path, ["episode", "return"]) as writer, pytest.raises(
        ValueError, match=r"column must be one of \['episode', 'return'\], got 'step'"
    ):
        writer.keep_rows_before("step", 3)


def test_fsync_runs_every_row_or_every_interval(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync
    every = MetricsWriter(tmp_path / "every.csv", ["a"], fsync_interval=0)
    rare = MetricsWriter(tmp_path / "rare.csv", ["a"], fsync_interval=3600)
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real_fsync(fd))
    for value in range(5):
        every.write({"a": value})
    assert len(calls) == 5
    calls.clear()
    for value in range(5):
        rare.write({"a": value})
    assert calls == []
    rare.close()
    every.close()
    assert len(calls) == 2  # close() syncs


_APPENDER = textwrap.dedent("""
    import sys
    from rlbasics.metrics import MetricsWriter, read_metrics

    path = sys.argv[1]
    writer = MetricsWriter(path, ["episode", "return", "note"], fsync_interval=0.05)
    episode = len(read_metrics(path)["episode"])  # continue where the killed run stopped
    print("ready", flush=True)
    while True:
        writer.write({"episode": episode, "return": episode * 0.5, "note": "x" * (episode % 50)})
        episode += 1
""")


def test_kill_9_at_random_moments_leaves_a_parseable_csv(tmp_path):
    path = tmp_path / "episodes.csv"
    rng = np.random.default_rng(2024)
    rows_seen = 0
    for _ in range(5):
        child = subprocess.Popen([sys.executable, "-c", _APPENDER, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n"
        child.stdout.close()
        time.sleep(rng.uniform(0.01, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            columns = read_metrics(path)
        assert len(caught) <= 1  # at most one cut last line
        episodes = columns["episode"]
        # Every row is whole, none duplicated or missing across the restarts.
        assert episodes.tolist() == list(range(len(episodes)))
        np.testing.assert_array_equal(columns["return"], episodes * 0.5)
        assert len(episodes) > rows_seen
        rows_seen = len(episodes)
