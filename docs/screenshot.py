"""Take the README's screenshot of a rendered view in headless Chromium: python docs/screenshot.py PAGE.html OUT.png"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser import launch_chromium, wait_until_laid_out


def main(page_path: Path, png_path: Path) -> None:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.goto(page_path.resolve().as_uri())
        wait_until_laid_out(page, 60_000)
        page.wait_for_timeout(500)  # the fit to the canvas, asked for on the first frame, is drawn on a later one
        page.screenshot(path=str(png_path))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
