"""A live server and a real browser for the web application's tests.

The server is the application (`create_web_app`) under uvicorn on a free loopback port, in a
thread of the test process (so a test's `EGIDE_NOW` is the server's clock too). The browser is
Debian's Chromium (`/usr/bin/chromium`, installed by `.ci/run`) driven by Playwright for Python
through `executable_path` (Playwright's own browser download does not work on these machines).
axe-core comes from npm (`.ci/run` installs it; `EGIDE_AXE` names its `axe.min.js`).

Where Chromium or axe-core is missing the browser tests are skipped with the reason shown by
pytest's summary, except under `EGIDE_REQUIRE_BROWSER=1` (set by `.ci/run`), where they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("EGIDE_CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parent.parent
AXE = Path(
    os.environ.get(
        "EGIDE_AXE", REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
    )
)
REQUIRE = os.environ.get("EGIDE_REQUIRE_BROWSER") == "1"
# Chromium's flags on these machines: no sandbox as root, and no background traffic (the
# network is closed; without these flags it keeps trying Google's hosts).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_browser() -> None:
    """Skip (or, where the browser is required, fail) when Chromium or axe-core is missing."""
    missing = [str(p) for p in (CHROMIUM, AXE) if not p.exists()]
    if missing:
        reason = f"browser tests need {', '.join(missing)} (.ci/run installs them)"
        if REQUIRE:
            pytest.fail(reason)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port until the block ends; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(browser: Any, url: str, cookies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on a page. axe is injected in a context that
    bypasses the page's Content-Security-Policy (the page itself allows no foreign script)."""
    context = browser.new_context(bypass_csp=True, locale="fr-FR")
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(url)
        page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    finally:
        context.close()
