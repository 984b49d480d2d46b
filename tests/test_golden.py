"""The golden test: what fedcut writes for a few fixed commands, as hashes.

A refactoring must leave every number a user sees where it was: the run folder's CSVs and
metrics.json of the default and the extended run, the console summary, `now --json` on a few
days and a small sweep's summary. A change that moves any of them on purpose (a new
parameter changes every configuration hash; a calibrated default changes the numbers) updates
`tests/golden.json` in the same commit and says why:

    FEDCUT_DATA_DIR=../shared/data python tests/test_golden.py --update

JSON outputs are compared after rounding every float to 12 significant digits: the last bit of
a sum can differ between CPUs (numpy's vector code), and nothing a user reads lives there. The
CSVs are written with 10 significant digits and compared byte for byte. A run note naming a data
file names it by its full path; the data directory's own path is replaced by `{data}` first, so
the digests do not depend on where the checkout lives.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden.json"
NOW_DAYS = ("2008-10-10", "2020-03-16", "2023-03-15")
pytestmark = pytest.mark.slow


def _canonical(value):
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _data_dir() -> str:
    return str(Path(os.environ.get("FEDCUT_DATA_DIR", str(ROOT.parent / "shared" / "data"))).resolve())


def _portable(text: str) -> str:
    """`text` with the data directory's path written `{data}`."""
    return text.replace(_data_dir(), "{data}")


def _json_digest(text: str) -> str:
    text = _portable(text)
    blob = json.dumps(_canonical(json.loads(text)), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _fedcut(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg", "FEDCUT_DATA_DIR": _data_dir()}
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_backtest.py"), "-q", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _run_folder(folder: Path) -> dict[str, str]:
    out = {name.name: _digest(name.read_bytes()) for name in sorted(folder.glob("*.csv"))}
    out["metrics.json"] = _json_digest((folder / "metrics.json").read_text())
    return out


def outputs(work: Path) -> dict[str, dict[str, str]]:
    """The digests of every golden output, computed in `work` (an empty folder)."""
    found: dict[str, dict[str, str]] = {}
    for name, extra in (("default", []), ("extended", ["--extended"])):
        text = _fedcut(["run", *extra, "--out", f"run-{name}"], work)
        console = "\n".join(line for line in text.splitlines() if not line.startswith("run folder:"))
        found[f"run {name}"] = {**_run_folder(work / f"run-{name}"), "console": _digest(_portable(console).encode())}
    found["now"] = {day: _json_digest(_fedcut(["now", "--json", "--as-of", day], work)) for day in NOW_DAYS}
    found["now"]["text"] = _digest(_portable(_fedcut(["now", "--as-of", NOW_DAYS[-1]], work)).encode())
    _fedcut(
        ["sweep", "--spec", str(ROOT / "examples" / "notebook_sweep.toml"), "--out", "sweep", "--no-progress"], work
    )
    found["sweep"] = {
        "summary.csv": _digest((work / "sweep" / "summary.csv").read_bytes()),
        "overfitting.json": _json_digest((work / "sweep" / "overfitting.json").read_text()),
    }
    return found


def test_every_golden_output_is_unchanged(tmp_path):
    expected = json.loads(GOLDEN.read_text())
    found = outputs(tmp_path)
    changed = [
        f"{group}: {name}"
        for group in expected
        for name in expected[group]
        if found.get(group, {}).get(name) != expected[group][name]
    ]
    assert not changed, f"changed outputs: {', '.join(changed)}"
    assert found.keys() == expected.keys() and all(found[g].keys() == expected[g].keys() for g in expected)


if __name__ == "__main__":  # python tests/test_golden.py --update
    import tempfile

    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_golden.py --update")
    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(outputs(Path(tmp)), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
