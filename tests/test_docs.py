"""The documentation: a short README that tells the truth, and a site that cannot drift.

The README is the front door: at most 15,000 bytes, its answer table is what a default run
reports (the same table is on the site's Results page), and it carries no history (that is
CHANGELOG.md's). The site's parameter reference is written from the registry by a build hook;
every page is in the navigation. `mkdocs build --strict` (CI, `.ci/run`) checks the links.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from fedcut.core.params import PARAMS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
RESULTS = DOCS / "results.md"
# History belongs in CHANGELOG.md: issue numbers, rounds, commit hashes (7+ hex digits with a letter)
HISTORY = re.compile(
    r"\bthis round\b|\bissues? #?\d+|(?<![\w&])#\d+\b|(?<![\w/.-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b",
    re.IGNORECASE,
)


def _hook(name: str):
    path = DOCS / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answer_rows(text: str) -> dict[str, list[str]]:
    """The answer table's rows, by the label before any parenthesis, cells without bold marks."""
    table = text.split("| | CAGR | volatility |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = {}
    for line in table:
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        rows[cells[0].split(" (")[0]] = cells[1:]
    return rows


def test_the_readme_is_a_front_door():
    size = len(README.read_bytes())
    assert size <= 15_000, f"README.md is {size} bytes: move detail to a page in docs/"
    text = README.read_text()
    for command in ("fedcut\n", "fedcut now", "fedcut sweep --spec examples/sweep.toml"):
        assert command in text
    assert "MIT" in text and "third-party" in text and (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.parametrize("page", [README, *sorted(DOCS.rglob("*.md"))], ids=lambda p: str(p.relative_to(ROOT)))
def test_user_text_holds_no_history(page):
    found = [m.group(0) for m in HISTORY.finditer(page.read_text())]
    assert found == [], f"{page.relative_to(ROOT)}: {found[:5]}: history goes in CHANGELOG.md"


def test_the_history_check_sees_history():
    for text in ("as this round showed", "see issue 13", "commit 223150a", "fixed in #26"):
        assert HISTORY.search(text), text
    for text in ("run-2000-05-26-2025-09-26", "a 1e308 price", "the seed 1994", "decade"):
        assert not HISTORY.search(text), text


def test_links_in_the_readme_lead_somewhere():
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    assert targets
    for target in targets:
        if "://" not in target:
            assert (ROOT / target).is_file(), target


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))

    def pages(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for item in node:
                yield from pages(item)
        elif isinstance(node, dict):
            for item in node.values():
                yield from pages(item)

    listed = list(pages(config["nav"]))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert sorted(listed) == sorted(on_disk)


def test_the_parameter_reference_is_the_registry():
    hook = _hook("parameters")
    page = (DOCS / hook.PAGE).read_text()
    assert hook.MARKER in page
    tables = hook.tables()
    for p in PARAMS:
        row = next(line for line in tables.splitlines() if line.startswith(f"| `{p.key}` |"))
        assert f"| {hook.allowed(p)} |" in row and p.why.replace("|", "\\|") in row and f"| {p.unit} |" in row, row
    assert len([line for line in tables.splitlines() if line.startswith("| `")]) == len(PARAMS)
    moneyness = next(line for line in tables.splitlines() if line.startswith("| `hedge.moneyness` |"))
    assert moneyness.startswith("| `hedge.moneyness` | `0.9` | strike / spot | 0.5 .. 1.2 | ")
    sizing = next(line for line in tables.splitlines() if line.startswith("| `hedge.sizing` |"))
    assert '| `"ratio"` | choice | one of ratio, budget |' in sizing


def test_the_parameter_hook_refuses_a_page_without_its_marker():
    hook = _hook("parameters")

    class Page:
        class file:
            src_uri = hook.PAGE

    with pytest.raises(ValueError, match="marker"):
        hook.on_page_markdown("# Parameters\n", Page)
    assert hook.MARKER not in hook.on_page_markdown(f"# Parameters\n\n{hook.MARKER}\n", Page)


def test_the_api_hook_lays_out_the_installed_namespace():
    hook = _hook("api_paths")
    tree = hook.namespace_tree()
    try:
        assert (tree / "fedcut" / "api.py").resolve() == ROOT / "fedcut" / "api.py"
        assert (tree / "fedcut" / "execution" / "engine.py").resolve() == ROOT / "execution" / "engine.py"
        assert (tree / "fedcut" / "core" / "params.py").is_file()
    finally:
        hook.on_shutdown()
    assert not tree.exists()


def test_the_readme_and_the_results_page_show_the_same_answer():
    readme, results = _answer_rows(README.read_text()), _answer_rows(RESULTS.read_text())
    assert readme == results and len(readme) == 8


@pytest.mark.slow
def test_the_answer_table_is_what_a_default_run_reports(shared_data):
    import fedcut

    result = fedcut.backtest(data_dir=shared_data, offline=True)
    m = result.metrics
    rows = _answer_rows(README.read_text())
    text = " ".join(README.read_text().split())
    assert f"Over {m['strategy']['start']} .. {m['strategy']['end']} the rules" in text
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}
    assert f"the evidence rests on **{words[m['verdict']['n_easing_cycles']]} easing cycles**" in text
    for _, row in result.baselines.iterrows():
        cells = rows.pop(row["label"])
        assert cells[:4] == [
            f"{row['cagr']:.1%}",
            f"{row['volatility']:.1%}",
            f"{row['max_drawdown']:.1%}",
            f"{row['sharpe']:.2f}",
        ], row["label"]
        if row["role"] == "baseline":
            v = m["verdict"]["against"][row["name"]]
            lo, hi = v["sharpe_diff_ci"]
            assert cells[4] == f"{v['sharpe_diff']:+.2f} ({lo:+.2f} to {hi:+.2f})", row["label"]
            assert v["sentence"].startswith(f"{cells[5]} from "), row["label"]
    assert rows == {}
