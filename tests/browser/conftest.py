"""A real `streamlit run` server on 127.0.0.1 and headless Debian Chromium (no browser download)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run streamlit_app.py` in its own process group, restartable."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "RAGLAB_DATA_DIR": str(self.data_dir)}
        ARTIFACTS.mkdir(exist_ok=True)  # the log goes there (a fresh clone has no folder yet)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
             "--server.headless", "true", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=(ARTIFACTS / "streamlit.log").open("ab"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("streamlit did not become healthy in 60 s")

    def stop_model_server(self, wait_s: float = 10.0) -> None:
        """Stop the local model server this app started: it outlives the app by design.

        Its pid is in the run file (waited for a little: a server still starting when the
        app stopped writes it late); SIGTERM it, healthy or not.
        """
        info_path = self.data_dir / "run" / "llm_server.json"
        deadline = time.monotonic() + wait_s
        while not info_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.kill(int(json.loads(info_path.read_text())["pid"]), signal.SIGTERM)
        except (OSError, ValueError, KeyError):
            pass

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    server = AppServer(tmp_path_factory.mktemp("browser") / "data")
    server.start()
    yield server
    server.stop()
    if (server.data_dir / "run").is_dir():  # the app started a local model server
        server.stop_model_server()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A fresh page; a screenshot is saved when the test fails."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has finished running the script (no running indicator)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def assert_no_exception(page) -> None:
    assert page.get_by_test_id("stException").count() == 0


def load_samples(page, url: str) -> None:
    """Load the sample documents from the Documents page, as a new user would."""
    page.goto(f"{url}/documents")
    wait_idle(page)
    page.get_by_role("button", name="📦 Load sample documents").click()
    page.get_by_role("heading", name="Indexed documents (8)").wait_for(timeout=120_000)
    wait_idle(page)


def go(page, link: str, heading: str) -> None:
    """Follow a sidebar link and wait until the page has drawn."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading).wait_for()
    wait_idle(page)
