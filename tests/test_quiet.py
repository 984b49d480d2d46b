"""What fedcut says when the world around it fails: a reader that stops reading, a full disk, a kill
or a Ctrl-C at a bad moment, a warning from a library. One line naming the cause, or silence where
there is no one to tell; never a traceback, a library's own log lines or "Exception ignored".

Each case is listed in docs/bad_inputs.md.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fedcut import cli as command_line
from fedcut.cli import READER_GONE
from test_safety import cli, data_env, spec_file, sweep  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["--start", "2019-01-02", "--end", "2019-12-31"]


def into_closed_pipe(args, cwd: Path, timeout=300) -> subprocess.CompletedProcess:
    """`python run_backtest.py ARGS | head -1` with head already gone: every write to stdout meets
    a pipe without a reader, whatever the timing (the reading end is closed before the start)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), *map(str, args)], cwd=cwd,
                              env={**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"},
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=timeout)
    finally:
        os.close(write)


# --- a reader that stops reading ------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "now", "now --json", "sweep"])
def test_a_closed_output_pipe_ends_quietly_with_141(command, tmp_path, shared_data):
    """`fedcut run | head -1`: no "error: Broken pipe", no "Exception ignored", the status a shell shows
    for `seq 99999 | head -1`; what the command writes to files is complete."""
    if command == "sweep":
        args = sweep(spec_file(tmp_path), tmp_path / "out", shared_data, "--workers", "2", "--force-workers")
    else:
        args = [*command.split(), "--data-dir", shared_data]
        if command == "run":
            args += [*SHORT, "--out", tmp_path / "out"]
    done = into_closed_pipe(args, tmp_path)
    assert (done.returncode, done.stderr) == (READER_GONE, "")
    assert READER_GONE == 128 + 13  # SIGPIPE is signal 13 on every POSIX system fedcut runs on
    if command in ("run", "sweep"):
        assert (tmp_path / "out" / ("summary.csv" if command == "sweep" else "metrics.json")).is_file()


def test_a_broken_pipe_that_is_not_the_output_is_still_an_error(data_env, capsys, monkeypatch):
    """Only a closed stdout or stderr is silence; a pipe to anything else that breaks is one line."""
    def broken(argv):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setitem(command_line.COMMANDS, "now", command_line.Command(broken, ""))
    assert cli(["now"], capsys) == (2, "", "error: Broken pipe\n")


# --- FEDCUT_OFFLINE and offline= as a user types them ---------------------------------------------

@pytest.mark.parametrize("text, offline", [("false\n", False), (" 0 ", False), ("\n", False), ("Off", False),
                                           ("TRUE\n", True), (" 1", True), ("yes\r\n", True)])
def test_fedcut_offline_is_read_whatever_the_spaces_and_case(monkeypatch, text, offline):
    """A value set from a file's line keeps its newline (a Windows file's, a carriage return too)."""
    from fedcut.data.sources import DataSource, offline_from_env
    monkeypatch.setenv("FEDCUT_OFFLINE", text)
    assert offline_from_env() is offline
    assert DataSource(data_dir=None).offline is offline


def test_fedcut_offline_false_with_a_newline_allows_downloads(tmp_path, monkeypatch, capsys, shared_data):
    """Read as online: a series missing offline is downloaded (the download faked here)."""
    calls = []

    def refresh(kind, name, cache_dir):
        calls.append((kind, name))
        target = Path(cache_dir) / kind / f"{name}.csv"
        target.parent.mkdir(parents=True)
        target.write_bytes((shared_data / kind / f"{name}.csv").read_bytes())
        return target

    monkeypatch.setattr("fedcut.data.fetch.refresh", refresh)
    data = tmp_path / "data"
    data.mkdir()
    for kind in ("prices", "macro", "calendar"):
        (data / kind).mkdir()
        for f in (shared_data / kind).glob("*.csv"):
            (data / kind / f.name).symlink_to(f)
    (data / "prices" / "VIX.csv").unlink()
    monkeypatch.setenv("FEDCUT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEDCUT_OFFLINE", "false\n")
    code, out, err = cli(["now", "--data-dir", data, "--as-of", "2020-03-16", "--json"], capsys)
    assert code == 0, err
    assert calls == [("prices", "VIX")]


@pytest.mark.parametrize("text", ["maybe", "false\nrm -rf /", "ja"])
def test_an_unknown_fedcut_offline_is_one_line_naming_it(data_env, capsys, monkeypatch, text):
    monkeypatch.setenv("FEDCUT_OFFLINE", text)
    code, out, err = cli(["now"], capsys)
    assert (code, out) == (2, "")
    assert err == (f"error: FEDCUT_OFFLINE={text!r}: expected 1, true, yes or on (no downloads), or 0, false, no, off "
                   "or empty (downloads allowed)\n")  # one line: repr writes a newline out as \n


@pytest.mark.parametrize("call", ["backtest", "sweep"])
@pytest.mark.parametrize("offline", ["false", "false\n", 0, 1.0])
def test_the_api_refuses_an_offline_that_is_not_true_or_false(call, offline, tmp_path):
    """`fedcut.backtest(offline="false")` used to run offline: any non-empty text is true in Python."""
    import fedcut
    from fedcut.core.errors import ConfigError
    with pytest.raises(ConfigError) as raised:
        if call == "backtest":
            fedcut.backtest(offline=offline)
        else:
            fedcut.sweep(spec_file(tmp_path), out=tmp_path / "out", offline=offline)
    assert str(raised.value) == (f"fedcut.{call}: offline must be True, False or None (None: FEDCUT_OFFLINE "
                                 f"decides), got {offline!r}")
    assert not (tmp_path / "out").exists()
