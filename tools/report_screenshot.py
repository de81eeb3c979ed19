"""Screenshot of a run report for the README, taken in Debian's headless Chromium.

    .venv/bin/python -m tools.report_screenshot [out/demo/report.html] [--out docs/img/report.png]

Playwright drives the system's Chromium (``/usr/bin/chromium``, installed by
``make system-deps``); it never downloads a browser of its own. The browser tests of the
report launch it the same way (``launch_chromium``).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
# No sandbox (root in a container), no GPU, and nothing that phones home, so the
# only requests a page makes are its own.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
VIEWPORT = {"width": 1100, "height": 1400}


@contextmanager
def launch_chromium() -> Iterator[object]:
    """A Playwright Browser on the system's Chromium with a fresh profile."""
    # Playwright would otherwise look for (and offer to download) its own browser builds.
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        raise FileNotFoundError(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps) or set CHROMIUM_BIN")
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_FLAGS), viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(report: Path, out: Path, height: Optional[int] = None) -> Path:
    """The report as a PNG: the whole page, or its top ``height`` pixels."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as context:
        page = context.new_page()
        page.goto(report.resolve().as_uri(), wait_until="load")
        clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height} if height else None
        page.screenshot(path=str(out), full_page=True, clip=clip)
    # A palette of 32 colours keeps the PNG small enough for the repository; the charts use a handful.
    from PIL import Image

    with Image.open(out) as image:
        small = image.convert("RGB").quantize(colors=32)
    small.save(out, optimize=True)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report_screenshot", description=__doc__.split("\n")[0])
    parser.add_argument("report", nargs="?", default="out/demo/report.html", help="the report to photograph (make demo writes it)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "report.png"), help="the PNG to write")
    parser.add_argument("--height", type=int, help="only this many pixels from the top of the page (default: all of it)")
    args = parser.parse_args(argv)
    report = Path(args.report)
    if not report.is_file():
        print(f"{report} does not exist: run `make demo` first, or name a report", file=sys.stderr)
        return 1
    print(screenshot(report, Path(args.out), args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
