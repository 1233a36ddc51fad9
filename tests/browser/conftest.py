"""Real-browser fixtures: Debian's Chromium driven by Playwright, and a JupyterLab server.

Where no Chromium is installed these tests are skipped with how to get one, except when
CHATKIT_REQUIRE_BROWSER=1 (CI sets it): then a missing browser is a failure.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Headless as root, on a machine with no network but loopback: without these flags
# Chromium's background connections are refused, many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
HOW_TO_GET_ONE = ("no Chromium found: install it (Debian/Ubuntu: `sudo apt-get install "
                  "chromium`) or point CHATKIT_CHROMIUM at a Chrome/Chromium binary")


def chromium_path() -> str | None:
    candidates = [os.environ.get("CHATKIT_CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser"), shutil.which("google-chrome")]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


# Module scope, not session: Playwright's sync API keeps an event loop running while it
# is open, and the async tests collected after these must find none.
@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CHATKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(HOW_TO_GET_ONE)
        pytest.skip(HOW_TO_GET_ONE)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on a copy of notebooks/, so autosave never touches the course."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}')
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        self.log = open(home / "jupyterlab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
             f"--port={self.port}", "--ServerApp.port_retries=0", "--ip=127.0.0.1",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited; see {self.log.name}")
            try:
                request = urllib.request.Request(f"{self.base}/api/status",
                                                 headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(request, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"JupyterLab did not answer within {timeout} s")

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def jupyterlab(browser, tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    (root / "zh").mkdir()  # the Chinese edition, one folder down as in workspace/
    for notebook in (ROOT / "notebooks" / "zh").glob("*.ipynb"):
        shutil.copy(notebook, root / "zh" / notebook.name)
    lab = JupyterLab(root, tmp_path_factory.mktemp("jupyter-home"))
    try:
        lab.wait_ready()
        yield lab
    finally:
        lab.stop()


def open_and_run(page, lab: JupyterLab, notebook: str, *, keep_last: bool = False,
                 timeout_ms: int = 90_000) -> None:
    """Open a notebook in JupyterLab, wait for an idle kernel, and run all its cells.

    With ``keep_last=True`` the last cell (a notebook's clean-up) is not run, so its
    servers and widgets stay live for the test to use.
    """
    import re

    from playwright.sync_api import expect

    page.goto(lab.url(f"lab/tree/{notebook}"))
    page.locator(".jp-NotebookPanel").first.wait_for(timeout=timeout_ms)
    # Run-all before the kernel reports idle can silently run nothing (found in a trial run).
    idle = page.get_by_role("contentinfo").get_by_role("button", name=re.compile(r"\| Idle$"))
    expect(idle).to_be_visible(timeout=timeout_ms)
    # Not awaited in the page: the prompts below wait, with a timeout, for the cells to run
    # (awaiting the command's promise had no timeout, and once hung a test for 300 s).
    page.evaluate("""(keepLast) => {
        const notebook = window.jupyterapp.shell.currentWidget.content;
        if (keepLast) notebook.activeCellIndex = notebook.widgets.length - 1;
        window.jupyterapp.commands.execute(keepLast ? 'notebook:run-all-above'
                                                    : 'notebook:run-all-cells');
    }""", keep_last)
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    awaited = prompts.nth(-2) if keep_last else prompts.last
    expect(awaited).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout_ms)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()


def screenshot(target, name: str) -> Path:
    """Save a screenshot of a page or an element under test-artifacts/; return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path


@pytest.fixture(autouse=True)
def _stop_servers():
    """Replaces (disables) the async clean-up of tests/conftest.py, which cannot run while
    Playwright's sync API holds an event loop; browser tests keep their servers on a
    loop in a thread, and the fixture that made that thread stops them."""
    yield


def assert_in_both_languages(catalogue: dict) -> None:
    """A page's catalogue (CHAT_TEXT, TEACHER_TEXT) has the same keys in English and
    Chinese, each with the same {slots}, and every Chinese sentence is in Chinese."""
    import re

    assert set(catalogue) == {"en", "zh"}
    assert catalogue["en"].keys() == catalogue["zh"].keys()
    for key, english in catalogue["en"].items():
        chinese = catalogue["zh"][key]
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", chinese)), key
        assert re.search(r"[\u4e00-\u9fff]", chinese), (key, chinese)
