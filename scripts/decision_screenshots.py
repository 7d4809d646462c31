"""README screenshots of the home page, the Decision guide and the report, from real runs.

Starts the app on a fresh data dir, measures what the guide reads through the UI (samples
loaded, an evaluation run, a 3-question 2x2 batch), answers the guide, downloads the HTML
report and renders its first page. Writes small palette PNGs to docs/:
    .venv/bin/python scripts/decision_screenshots.py
Needs Chromium and the shipped adapter (as the browser tests do); takes a few minutes.
`--data DIR` reuses a data dir measured by an earlier run (its path is printed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402  (after the path insert)
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    AppServer,
    wait_idle,
)
from tests.browser.test_walkthrough_journey import go_home, open_step_link, wait_home  # noqa: E402

DOCS = ROOT / "docs"


def small_png(source: Path, target: Path) -> None:
    """A 256-colour PNG: screenshots of flat UI lose nothing visible and shrink ~3x."""
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True)
    print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB")


def measure(page, url: str) -> None:
    """Samples, an evaluation of the retrievers, and a 3-question batch of the 2x2 grid."""
    page.goto(f"{url}/documents")
    wait_idle(page)
    page.get_by_role("button", name="📦 Load sample documents").click()
    page.get_by_role("heading", name="Indexed documents (8)").wait_for(timeout=180_000)
    page.goto(f"{url}/evaluate")
    wait_idle(page)
    page.get_by_role("button", name="▶️ Run evaluation").click()
    page.get_by_role("heading", name="Results").first.wait_for(timeout=300_000)
    wait_idle(page)
    page.goto(f"{url}/search")
    wait_idle(page)
    page.get_by_role("button", name="v2.2 switch-off date").click()
    wait_idle(page)
    page.goto(f"{url}/compare")
    wait_idle(page)
    page.get_by_test_id("stSlider").get_by_role("slider").focus()
    for _ in range(7):  # from 10 down to 3 questions: a few minutes on 2 cores
        page.keyboard.press("ArrowLeft")
    wait_idle(page)
    page.get_by_role("button", name="▶️ Run batch").click()
    page.get_by_text("Saved to").wait_for(timeout=900_000)
    wait_idle(page)


def answer_guide(page) -> None:
    main = page.get_by_test_id("stMain")
    for label in ("The model does not know our documents", "Our facts change often",
                  "Wrong tone or style"):
        main.get_by_text(label).click()
        wait_idle(page)
    groups = main.get_by_role("radiogroup")
    for index, option in ((0, "yes"), (1, "yes"), (2, "weeks"), (3, "yes")):
        groups.nth(index).get_by_text(option, exact=True).click()
        wait_idle(page)
    examples = main.get_by_test_id("stNumberInputField").first
    examples.fill("600")
    examples.press("Enter")
    expect(main.get_by_test_id("stAlert").first).to_contain_text("Both", timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(2000)  # the last rerun's greyed-out look fades
    page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a data dir measured by an earlier run")
    args = parser.parse_args()
    ARTIFACTS.mkdir(exist_ok=True)
    data_dir = args.data or Path(tempfile.mkdtemp()) / "data"
    print(f"data dir: {data_dir}")
    server = AppServer(data_dir)
    server.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            if args.data is None:
                measure(page, server.url)
            page.goto(server.url)
            wait_home(page)
            open_step_link(page, "Open the Decision guide", "🧭 Decision guide")
            answer_guide(page)
            page.set_viewport_size({"width": 1400, "height": 1150})
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "docs-decide.png"))
            page.set_viewport_size({"width": 1400, "height": 900})
            with page.expect_download() as download:
                page.get_by_role("button", name="⬇️ Download the HTML report").click()
            report_path = ARTIFACTS / "docs-report.html"
            download.value.save_as(report_path)
            go_home(page)
            wait_home(page)
            page.screenshot(path=str(ARTIFACTS / "docs-home.png"))
            report = browser.new_page(viewport={"width": 820, "height": 1160})  # A4 ratio
            report.goto(report_path.as_uri())
            report.screenshot(path=str(ARTIFACTS / "docs-report.png"))
            browser.close()
    finally:
        server.stop()
        server.stop_model_server()
    for shot, name in (("home", "home"), ("decide", "decision-guide"), ("report", "report")):
        small_png(ARTIFACTS / f"docs-{shot}.png", DOCS / f"{name}.png")


if __name__ == "__main__":
    main()
