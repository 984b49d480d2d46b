"""Packaging: the wheel holds the one package `fedcut`; installed into an environment that
already has packages named `data` and `sweeps` it leaves them alone, and the console command
and the API work from a folder outside the checkout; both editable modes import the
`fedcut.*` namespace from the checkout's folders; no module imports a folder without it.

No network: wheels are built with this environment's setuptools (--no-build-isolation), the
stand-ins for PyPI's `data` and `sweeps` are wheels written here, and the fresh environments
reach this one's dependencies through a .pth file that names its site-packages (a .pth
file's own .pth files are not run, so this environment's editable install of fedcut is not).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

import fedcut

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS = PYPROJECT["tool"]["setuptools"]["package-dir"]  # "fedcut.data" -> "data", ...
FOLDERS = tuple(folder for name, folder in PACKAGE_DIRS.items() if name != "fedcut")
STAND_INS = ("data", "sweeps")  # PyPI has packages with these names (sweeps: Weights & Biases')
VERSION = fedcut.__version__
SHORT_RUN = "import fedcut; print(fedcut.backtest(start='2019-01-01', end='2020-12-31').metrics['strategy']['cagr'])"


def _run(args: list, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _pip(python: Path, *args, cwd: Path) -> str:
    """pip of this environment acting on another interpreter's environment."""
    return _run(
        [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "--no-input", *args], cwd
    )


def _source_copy(dest: Path) -> Path:
    """What a build reads: pyproject.toml, README.md and the package folders (a copy, so that
    building writes no build/ or egg-info into the checkout)."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    for folder in PACKAGE_DIRS.values():
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "cache"))
    return dest


def _fresh_venv(path: Path) -> tuple[Path, Path]:
    """A new environment (no pip of its own) that can import this environment's packages; returns
    its python and site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], path).strip())
    (site / "zz_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, site


def _stand_in_wheel(folder: Path, name: str) -> Path:
    """A minimal wheel of a pure-Python package `name` 1.0 with two modules."""
    files = {
        f"{name}/__init__.py": f"MARK = 'stand-in {name} 1.0'\n",
        f"{name}/core.py": "ANSWER = 42\n",
        f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{name}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{name}-1.0.dist-info/top_level.txt": f"{name}\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-1.0.dist-info/RECORD,,")
    files[f"{name}-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def _snapshot(site: Path, names) -> dict[str, bytes]:
    return {
        str(p.relative_to(site)): p.read_bytes()
        for name in names
        for p in sorted(site.glob(f"{name}*/**/*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _user_env(shared_data: Path, tmp: Path) -> dict:
    """A user's shell: the data directory set, offline, no PYTHONPATH, caches in `tmp`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FEDCUT_CACHE_DIR", "NUMBA_CACHE_DIR")}
    env.update(FEDCUT_DATA_DIR=str(shared_data), FEDCUT_OFFLINE="1", MPLBACKEND="Agg", XDG_CACHE_HOME=str(tmp / "xdg"))
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from the checkout, installed into a fresh environment after the stand-ins."""
    tmp = tmp_path_factory.mktemp("package")
    dist = tmp / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            dist,
            _source_copy(tmp / "src"),
        ],
        tmp,
    )
    wheel = next(dist.glob("fedcut-*.whl"))
    python, site = _fresh_venv(tmp / "venv")
    _pip(python, "install", "--no-index", "--no-deps", *[_stand_in_wheel(dist, n) for n in STAND_INS], cwd=tmp)
    before = {"listing": sorted(p.name for p in site.iterdir()), "files": _snapshot(site, STAND_INS)}
    _pip(python, "install", "--no-index", "--no-deps", wheel, cwd=tmp)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return {"tmp": tmp, "wheel": wheel, "python": python, "site": site, "before": before, "elsewhere": elsewhere}


def test_the_wheel_holds_only_the_fedcut_package_and_every_module(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    dist_info = f"fedcut-{VERSION}.dist-info/"
    assert {n.split("/")[0] + "/" for n in names} == {"fedcut/", dist_info}
    assert zipfile.ZipFile(installed["wheel"]).read(dist_info + "top_level.txt").decode().split() == ["fedcut"]
    assert "fedcut = fedcut:entry" in zipfile.ZipFile(installed["wheel"]).read(dist_info + "entry_points.txt").decode()
    for package, folder in PACKAGE_DIRS.items():
        inside = package.replace(".", "/")
        for module in (ROOT / folder).glob("*.py"):
            assert f"{inside}/{module.name}" in names, (folder, module.name)
    assert not [n for n in names if n.startswith(("fedcut/tests", "fedcut/results", "fedcut/examples"))]
    assert "fedcut/report/chart.js" in names  # the report's chart script, read as package data


def test_installing_beside_data_and_sweeps_leaves_them_intact(installed):
    python, site, before = installed["python"], installed["site"], installed["before"]
    added = sorted(set(p.name for p in site.iterdir()) - set(before["listing"]))
    assert added == ["fedcut", f"fedcut-{VERSION}.dist-info"]  # one top-level package, nothing else
    assert _snapshot(site, STAND_INS) == before["files"]
    code = "import data, sweeps, data.core; print(data.MARK, sweeps.MARK, data.core.ANSWER)"
    assert _run([python, "-c", code], installed["elsewhere"]).split() == [
        "stand-in",
        "data",
        "1.0",
        "stand-in",
        "sweeps",
        "1.0",
        "42",
    ]


def test_the_installed_command_and_api_work_outside_the_checkout(installed, shared_data):
    python, site, elsewhere = installed["python"], installed["site"], installed["elsewhere"]
    env = _user_env(shared_data, installed["tmp"])
    command = python.parent / "fedcut"
    assert _run([command, "--version"], elsewhere, env) == f"fedcut {VERSION}\n"
    usage = _run([command, "run", "--help"], elsewhere, env)
    assert usage.startswith("usage: fedcut run ") and "--start START" in usage and "examples:" in usage
    where = _run(
        [python, "-c", "import fedcut, fedcut.data.sources as s; print(fedcut.__file__); print(s.default_cache_dir())"],
        elsewhere,
        env,
    ).splitlines()
    assert where == [str(site / "fedcut" / "__init__.py"), str(installed["tmp"] / "xdg" / "fedcut")]
    cagr = float(_run([python, "-c", SHORT_RUN], elsewhere, env))
    checkout = fedcut.backtest(start="2019-01-01", end="2020-12-31", data_dir=shared_data)
    assert cagr == checkout.metrics["strategy"]["cagr"]
    value = checkout.equity["strategy"]
    years = (value.index[-1] - value.index[0]).days / 365.25
    assert abs(cagr - ((value.iloc[-1] / value.iloc[0]) ** (1 / years) - 1)) < 1e-12
    assert not list((site / "fedcut").rglob("*.csv"))  # nothing downloaded or written into site-packages
    assert not list((site / "fedcut").rglob("*.nbi")) and list(
        (installed["tmp"] / "xdg" / "fedcut" / "numba").rglob("*.nbi")
    )


def test_uninstalling_fedcut_leaves_data_and_sweeps(installed):
    python, site = installed["python"], installed["site"]
    _pip(python, "uninstall", "-y", "fedcut", cwd=installed["tmp"])
    assert not (site / "fedcut").exists()
    assert _snapshot(site, STAND_INS) == installed["before"]["files"]
    assert (
        _run([python, "-c", "import data, sweeps; print(data.MARK)"], installed["elsewhere"]) == "stand-in data 1.0\n"
    )


@pytest.mark.parametrize("mode", ["default", "strict"])
def test_editable_installs_import_the_namespace_from_the_folders(mode, tmp_path):
    src = _source_copy(tmp_path / "src")
    python, _ = _fresh_venv(tmp_path / "venv")
    settings = ["--config-settings", "editable_mode=strict"] if mode == "strict" else []
    _pip(python, "install", "--no-index", "--no-deps", "--no-build-isolation", *settings, "-e", src, cwd=tmp_path)
    modules = {f"fedcut.{folder}": folder for folder in FOLDERS}
    code = "import importlib\n" + "".join(
        f"print(importlib.import_module('{m}').__file__)\n" for m in ["fedcut", *modules]
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    files = _run([python, "-c", code], elsewhere).splitlines()
    for file, folder in zip(files, ["fedcut", *modules.values()]):
        assert os.path.samefile(file, src / folder / "__init__.py"), (file, folder)
    for folder in FOLDERS:
        assert (
            subprocess.run([str(python), "-c", f"import {folder}"], cwd=elsewhere, capture_output=True).returncode != 0
        )


def test_no_module_imports_a_folder_without_the_namespace():
    """`import data`, `from sweeps.x import y`, importlib / monkeypatch / mock targets naming
    `signals.` ...: each would load a different package (or none) once installed."""

    def bare(name: str) -> bool:
        return name.split(".")[0] in FOLDERS

    found = []
    skip = {".git", "build", "results"}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if skip & set(rel.parts) or any(p.startswith(".") or p.endswith(".egg-info") for p in rel.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(rel))):
            if isinstance(node, ast.Import):
                found += [f"{rel}:{node.lineno} import {a.name}" for a in node.names if bare(a.name)]
            elif isinstance(node, ast.ImportFrom) and not node.level and bare(node.module or ""):
                found.append(f"{rel}:{node.lineno} from {node.module}")
            elif (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and "." in node.args[0].value
                and getattr(node.func, "attr", getattr(node.func, "id", ""))
                in ("import_module", "__import__", "setattr", "delattr", "patch")
                and bare(node.args[0].value)
            ):
                found.append(f"{rel}:{node.lineno} {node.args[0].value!r}")
    assert found == []


def test_readme_set_up_is_what_ci_runs():
    """The newcomer's commands in the README's "Install" are .ci/run's, line for line; CI adds
    only the strict build of the documentation site and the lint and type checks, before the tests."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set -", "cd "))
    ]
    added = [line for line in ci if line not in block]
    assert added == ['mkdocs build --strict --site-dir "$(mktemp -d)"', ".ci/check"]
    assert [line for line in ci if line not in added] == block
    assert ci[-len(added) - 1 : -1] == added and ci[-1] == block[-1] == "python -m pytest -n 2 --dist loadfile"
    assert 'pip install -c constraints.txt -e ".[dev]"' in ci
    dependencies = PYPROJECT["project"]["dependencies"] + sum(
        PYPROJECT["project"]["optional-dependencies"].values(), []
    )
    assert not [d for d in dependencies if "==" in d]  # ranges here, exact versions in constraints.txt
    pinned = {
        line.split("==")[0].lower()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    named = {re.split(r"[\[<>=]", d, maxsplit=1)[0].strip().lower() for d in dependencies}
    assert named <= pinned
    assert {"mkdocs", "mkdocs-material", "mkdocstrings", "mkdocstrings-python"} <= pinned  # the site CI builds
