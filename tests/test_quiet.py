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
