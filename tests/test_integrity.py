"""Nothing fedcut did not make is touched: files it rewrites in a folder that exists (`sweep --resume`,
`report`) are never written through a link or into a pipe, and only temporaries that prove they are
fedcut's (a marker repeating the name's process id and token) are ever removed.

Each refusal is one line on stderr and exit status 2, listed in docs/bad_inputs.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_safety import (
    SHORT,
    cli,
    data_env,
    dead_pid,
    killed_temporary,
    refused,
    run_copy,
    short_run,
    snapshot,
    spec_file,
    sweep,  # noqa: F401 (fixtures)
)

from fedcut.cli import main
from fedcut.core.files import MARKER, TEMPORARY, remove_stale_temporaries, temporary_folder

pytestmark = pytest.mark.slow  # whole commands in processes of their own: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, shared_data):
    """The tiny sweep of test_safety, complete: resuming it only rewrites its outputs."""
    folder = tmp_path_factory.mktemp("finished")
    assert main([str(a) for a in sweep(spec_file(folder), folder / "done", shared_data)]) == 0
    return folder / "done"


def look_alikes(folder: Path, pid: int) -> dict:
    """A user's files and folders named like fedcut's temporaries, all of a process that is gone."""
    token = "0123456789abcdef"
    (folder / f".report-{pid}").mkdir()
    (folder / f".report-{pid}" / "notes.txt").write_text("mine")
    (folder / f".x.partial-{pid}").write_text("mine")
    (folder / f".x.{pid}.tmp").write_text("mine")
    (folder / f".y.{pid}-{token}.tmp").mkdir()  # today's pattern, but no marker
    (folder / f".y.{pid}-{token}.tmp" / "a.txt").write_text("mine")
    forged = folder / f".z.{pid}-{token}.tmp"  # a marker of another token
    forged.mkdir()
    (forged / MARKER).write_text(f"fedcut temporary of process {pid}, token fedcba9876543210\n")
    return hidden(folder)


def hidden(folder: Path) -> dict:
    """The bytes and times of the files under `folder`'s hidden entries (where temporaries live)."""
    return {k: v for k, v in snapshot(folder).items() if k.startswith(".")}


def test_only_marked_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = dead_pid()
    before = look_alikes(tmp_path, dead)
    ours = killed_temporary(tmp_path, "run.partial")
    assert TEMPORARY.fullmatch(ours.name) and (ours / MARKER).is_file()
    with temporary_folder(tmp_path, "live", tmp_path) as live:  # this process's: it runs
        remove_stale_temporaries(tmp_path)
        assert live.is_dir()
    assert not ours.exists() and not live.exists()
    assert hidden(tmp_path) == before


def test_a_run_and_a_report_leave_look_alike_user_files_alone(data_env, capsys, run_copy):
    results = data_env / "results"
    results.mkdir()
    before = look_alikes(results, dead_pid())
    assert cli(SHORT, capsys)[0] == 0
    assert hidden(results) == before
    inside = look_alikes(run_copy, dead_pid())
    assert cli(["report", run_copy], capsys)[0] == 0
    assert hidden(run_copy) == inside


def test_the_write_probe_leaves_nothing_and_a_killed_one_is_cleaned(data_env, capsys):
    probe = killed_temporary(data_env, "fedcut-probe")
    assert cli(SHORT + ["--out", data_env / "mine"], capsys)[0] == 0
    assert not probe.exists()
    assert not [p.name for p in data_env.iterdir() if "probe" in p.name]


@pytest.mark.parametrize("name", ["sweep.lock", "summary.csv", "overfitting.json", "sweep.sqlite", "sweep.html"])
def test_resume_refuses_a_link_in_the_sweep_folder(finished_sweep, tmp_path, shared_data, capsys, name):
    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    victim = tmp_path / "victim"
    shutil.copy(out / name, victim)
    (out / name).unlink()
    (out / name).symlink_to(victim)
    before = victim.read_bytes()
    line = refused(sweep(finished_sweep.parent / "tiny.toml", out, shared_data, "--resume"), capsys)
    assert line == f"error: {out / name}: a symbolic link; fedcut writes only files it made, never through a link"
    assert victim.read_bytes() == before


def test_resume_refuses_a_pipe_where_a_file_goes(finished_sweep, tmp_path, shared_data):
    """A named pipe at summary.csv would block the writer forever; in a subprocess, with a time limit."""
    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    (out / "summary.csv").unlink()
    os.mkfifo(out / "summary.csv")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_backtest.py"),
            *map(str, sweep(finished_sweep.parent / "tiny.toml", out, shared_data, "--resume")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == f"error: {out / 'summary.csv'}: not a regular file; fedcut writes only files it made\n"


@pytest.mark.parametrize("name", ["report.html", "plots/cycles.png", "tearsheet.csv"])
def test_report_refuses_a_link_among_its_outputs_and_changes_nothing(run_copy, data_env, capsys, tmp_path, name):
    from fedcut.report.schema import REPORT_FILES

    assert name in REPORT_FILES
    victim = tmp_path / "victim"
    victim.write_bytes(b"mine")
    (run_copy / name).unlink()
    (run_copy / name).symlink_to(victim)
    before = snapshot(run_copy)
    line = refused(["report", run_copy], capsys)
    assert line == f"error: {run_copy / name}: a symbolic link; fedcut writes only files it made, never through a link"
    assert snapshot(run_copy) == before and (run_copy / name).is_symlink()
    assert victim.read_bytes() == b"mine"


def test_report_refuses_a_pipe_among_its_outputs(run_copy, data_env, capsys):
    (run_copy / "report.html").unlink()
    os.mkfifo(run_copy / "report.html")
    line = refused(["report", run_copy], capsys)
    assert line == f"error: {run_copy / 'report.html'}: not a regular file; fedcut writes only files it made"
