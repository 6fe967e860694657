"""Headless Chromium for the report test and scripts/tb_screenshot.py.

The driver is Playwright's Python package (PyPI; its wheel carries the driver it talks
to, so it installs offline) pointed at the system's Chromium (Debian's `chromium`
package) through `executable_path`: Playwright's own browser download is never used.
Every request the page makes is recorded; one outside the allowed URL prefixes is
aborted and kept in `Page.blocked`, so a test can assert the page fetched nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """$GANBENCH_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    explicit = os.environ.get("GANBENCH_CHROMIUM")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def unavailable() -> str | None:
    """Why no headless page can be opened here, or None when one can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if find_chromium() is None:
        return "no Chromium found (apt-get install chromium, or set GANBENCH_CHROMIUM)"
    return None


@dataclass
class Page:
    """A Playwright page and what it asked for: `requests` (every URL), `blocked` (aborted)."""

    page: object
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@contextmanager
def open_page(
    allow: tuple[str, ...] = ("file:",), width: int = 1280, height: int = 900, args: tuple[str, ...] = ()
) -> Iterator[Page]:
    """A fresh headless page; a request whose URL starts with none of `allow` is aborted.
    data: URLs (the report's embedded images) are not requests and are never seen here.
    `args` go to Chromium's command line."""
    from playwright.sync_api import sync_playwright

    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=list(args))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            seen = Page(page)
            page.on("request", lambda request: seen.requests.append(request.url))

            def gate(route) -> None:
                if route.request.url.startswith(allow):
                    route.continue_()
                else:
                    seen.blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", gate)
            yield seen
        finally:
            browser.close()
