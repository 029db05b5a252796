"""Headless Debian Chromium, as the browser tests and the viewer benchmark drive it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")

# Without these flags Chromium keeps calling Google's servers (component updates, sync, field
# trials), which CI has no route to; Playwright's own browser download needs the internet too.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def wait_until_laid_out(page: Page, timeout_ms: float) -> None:
    """Wait for the view to freeze its layout (``window.vpcflowView.ready``)."""
    # A function, not an expression: Playwright evals expression strings, which the page's CSP forbids.
    page.wait_for_function("() => window.vpcflowView && window.vpcflowView.ready", timeout=timeout_ms)
