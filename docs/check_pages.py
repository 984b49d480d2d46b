"""Open fedcut's pages in a real browser (headless Chromium) and check that they fit the screen.

Usage: python docs/check_pages.py PAGE.html [PAGE.html ...] [--widths 1280 1920] [--shots DIR]

For each page and width it loads a copy of the page with a small measuring script added (run
after the page's own chart script), then asserts that nothing is wider than the window: no element
reaches past its right or left edge, the page does not scroll sideways, no box scrolls sideways
inside it, and every picture is shown at a scale where its smallest text (9 points at 100 dpi,
12.5 px) is at least MIN_TEXT_PX on screen. With --shots it also writes a full-page screenshot
per page and width (`<page>-<width>.png`) to look at. Exits 1 naming every problem, 0 when every
page fits; 2 when no Chromium is found (`apt-get install chromium` on Debian).

The test `tests/test_pages.py` runs this on a fresh run's report.html and a sweep's sweep.html,
and skips, saying why, where no Chromium is installed (CI reaches only the Python package index).
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTHS = (1280, 1920)
MIN_TEXT_PX = 10.0  # the smallest figure text on screen
FIGURE_TEXT_PX = 9 * 100 / 72  # the smallest text in fedcut's figures: 9 points at 100 dpi
TIMEOUT = 120  # seconds for one browser call
PROBE = """<script>
addEventListener("load", () => {
  const width = document.documentElement.clientWidth, problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
    (el.textContent ? ' "' + el.textContent.trim().slice(0, 40) + '"' : "");
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5)
      problems.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)} px, the window is ${width}`);
    else if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible")
      problems.push(`${name(el)} scrolls sideways: ${el.scrollWidth} px of content in ${el.clientWidth}`);
  }
  const scales = [...document.images].map((img) => img.getBoundingClientRect().width / img.naturalWidth);
  const result = {width, page_width: document.documentElement.scrollWidth,
                  height: document.documentElement.scrollHeight, problems, images: scales.length,
                  smallest_image_scale: scales.length ? Math.min(...scales) : null};
  const out = document.createElement("pre");
  out.id = "fedcut-probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


def browser() -> str | None:
    """The Chromium on PATH, or None."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def measure(page: Path, width: int, chrome: str) -> dict:
    """What the probe finds on `page` in a window `width` px wide."""
    text = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="fedcut-pages-") as tmp:
        probed = Path(tmp) / page.name
        probed.write_text(text.replace("</body>", PROBE + "\n</body>", 1), encoding="utf-8")
        dom = _run(
            chrome, tmp, [f"--window-size={width},1000", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()]
        )
    start = dom.find('<pre id="fedcut-probe">')
    if start < 0:
        raise RuntimeError(f"{page}: the browser returned no measurement (is it a complete HTML page?)")
    body = dom[start + len('<pre id="fedcut-probe">') : dom.index("</pre>", start)]
    return json.loads(html.unescape(body))


def screenshot(page: Path, width: int, height: int, out: Path, chrome: str) -> Path:
    """A full-page screenshot of `page` at `width` px (the page's height, from `measure`)."""
    with tempfile.TemporaryDirectory(prefix="fedcut-pages-") as tmp:
        _run(chrome, tmp, [f"--window-size={width},{max(height, 600)}", f"--screenshot={out}", page.resolve().as_uri()])
    return out


def problems(found: dict, page: Path) -> list[str]:
    """Every way `found` (a `measure`) says the page does not fit its window."""
    where = f"{page} at {found['width']} px"
    out = [f"{where}: {p}" for p in found["problems"]]
    if found["page_width"] > found["width"]:
        out.append(f"{where}: the page is {found['page_width']} px wide and scrolls sideways")
    scale = found["smallest_image_scale"]
    if scale is not None and scale * FIGURE_TEXT_PX < MIN_TEXT_PX:
        out.append(
            f"{where}: a picture is shown at {scale:.0%} of its size, so its smallest text is "
            f"{scale * FIGURE_TEXT_PX:.1f} px (at least {MIN_TEXT_PX:g} px wanted)"
        )
    return out


def check(pages: list[Path], widths=WIDTHS, shots: Path | None = None, chrome: str | None = None) -> list[str]:
    """Measure every page at every width (screenshots into `shots`); return the problems found."""
    chrome = chrome or browser()
    if chrome is None:
        raise FileNotFoundError(f"no Chromium on PATH (looked for {', '.join(BROWSERS)})")
    found = []
    for page in pages:
        for width in widths:
            result = measure(page, width, chrome)
            found += problems(result, page)
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                screenshot(page, width, result["height"], shots / f"{page.stem}-{width}.png", chrome)
    return found


def _run(chrome: str, profile: str, args: list[str]) -> str:
    """Run the browser once with a fresh profile folder; its standard output."""
    done = subprocess.run(
        [chrome, *FLAGS, f"--user-data-dir={Path(profile) / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{chrome} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Check that fedcut's HTML pages fit the screen in headless Chromium.")
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--widths", nargs="+", type=int, default=list(WIDTHS))
    ap.add_argument("--shots", type=Path, help="write full-page screenshots here")
    args = ap.parse_args(argv)
    try:
        found = check(args.pages, args.widths, args.shots)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in found:
        print(line)
    print(
        f"{len(args.pages)} page(s) at {', '.join(map(str, args.widths))} px: "
        + (f"{len(found)} problem(s)" if found else "everything fits")
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
