"""PageCode in a real JupyterLab: notebooks 01 and 02 run all, and the JavaScript really
runs in the page: its lines show in the widget AND reach the kernel's ``page.events``;
a connection that fails and code that fails are told in sentences; nothing but loopback
is asked for."""

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

# What the page does takes a comm round trip or two and a connection: on a loaded machine,
# seconds. Playwright's default wait for a condition is 5 s.
PAGE_WAIT_MS = 30_000
WEBSOCKET_LINES = ["readyState 0", "open", "message hello", "close 1000 done for today true"]


@pytest.fixture
def loopback_only(page):
    """Abort (and record) every request the page makes to a host other than loopback."""
    elsewhere = []

    def route(request_route):
        host = urlsplit(request_route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            request_route.continue_()
        else:
            elsewhere.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    yield page
    assert elsewhere == []


def kernel_json(page, code: str):
    """Run ``code`` in the notebook's kernel (top-level await allowed); it must print one
    JSON value, which this returns. An error in the kernel fails the test with its text."""
    reply = page.evaluate("""async (code) => {
        const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const future = kernel.requestExecute({code, store_history: false});
        let out = "", error = null;
        future.onIOPub = (msg) => {
            if (msg.header.msg_type === "stream") out += msg.content.text;
            if (msg.header.msg_type === "error") {
                error = `${msg.content.ename}: ${msg.content.evalue}`;
            }
        };
        const late = new Promise((resolve) => setTimeout(() => resolve("late"), 60000));
        if (await Promise.race([future.done, late]) === "late") {
            return {error: "no reply within 60 s"};
        }
        return {out, error};
    }""", code)
    assert reply["error"] is None, reply["error"]
    return json.loads(reply["out"])


def run_in_last_cell(page, code: str) -> None:
    """Put ``code`` in the notebook's last cell (its clean-up, not run) and run it there,
    so that what it displays is drawn in the page."""
    page.evaluate("""(code) => {
        const notebook = window.jupyterapp.shell.currentWidget.content;
        notebook.activeCellIndex = notebook.widgets.length - 1;
        notebook.activeCell.model.sharedModel.setSource(code);
        window.jupyterapp.commands.execute("notebook:run-cell");
    }""", code)


def run_all_but_the_last_cell(page, lab, notebook: str, *, timeout_ms: int = 120_000) -> None:
    """Open ``notebook``, wait for an idle kernel, run every cell but the last (the clean-up,
    so its servers stay up) and wait for them, reading the notebook's model: JupyterLab
    draws only the cells near the screen, so prompts far below are placeholders. No cell
    may have written to stderr or raised."""
    page.goto(lab.url(f"lab/tree/{notebook}"))
    # JupyterLab also reopens the notebooks of earlier tests, and may show one of those.
    page.wait_for_function("""(name) => {
        const app = window.jupyterapp;
        if (!app || !app.shell) return false;  // not loaded yet
        const panel = [...app.shell.widgets("main")].find((w) => w.context?.path === name);
        if (panel && app.shell.currentWidget !== panel) app.shell.activateById(panel.id);
        return panel !== undefined && app.shell.currentWidget === panel;
    }""", arg=notebook, timeout=timeout_ms)
    # Run-all before the kernel reports idle can silently run nothing (conftest.open_and_run)
    idle = page.get_by_role("contentinfo").get_by_role("button", name=re.compile(r"\| Idle$"))
    expect(idle).to_be_visible(timeout=timeout_ms)
    # Only once the file is loaded does the notebook have all its cells: "the last" before.
    # Under load (1 run in 3 with both cores busy) JupyterLab may never get one cell's
    # execute_reply, so that cell keeps no execution count although it ran: its output
    # is there and the next cell has count n + 1. What the kernel says on IOPub tells
    # that it ran and finished: execute_input (its code) and status idle (same parent).
    page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.context.ready;
        await panel.sessionContext.ready;
        const ran = window.__ranCells = {started: {}, finished: new Set()};
        panel.sessionContext.session.kernel.iopubMessage.connect((_, msg) => {
            const parent = msg.parent_header?.msg_id;
            if (msg.header.msg_type === "execute_input") ran.started[parent] = msg.content.code;
            if (msg.header.msg_type === "status" && msg.content.execution_state === "idle") {
                ran.finished.add(parent);
            }
        });
        panel.content.activeCellIndex = panel.content.widgets.length - 1;
        window.jupyterapp.commands.execute("notebook:run-all-above");  // not awaited: below
    }""")
    progress = """() => {
        const panel = window.jupyterapp.shell.currentWidget;
        const ran = window.__ranCells;
        const finished = new Set(Object.entries(ran.started)
            .filter(([parent]) => ran.finished.has(parent)).map(([, code]) => code));
        const cells = [...panel.content.model.cells].slice(0, -1)
            .filter((cell) => cell.type === "code" && cell.sharedModel.source.trim());
        return {kernel: panel.sessionContext.session?.kernel?.status,
                waiting: cells.filter((cell) => cell.executionCount === null
                                      && !finished.has(cell.sharedModel.source))
                    .map((cell) => cell.sharedModel.source.split("\\n")[0])};
    }"""
    try:
        page.wait_for_function(f"() => {{ const seen = ({progress})(); "
                               "return seen.kernel === 'idle' && seen.waiting.length === 0; }",
                               timeout=timeout_ms)
    except PlaywrightTimeoutError:
        # Seen under load (CI, 1 run in 3): one cell unrun, kernel idle. Say what the
        # cells before it printed, so that the next run shows which one failed and why.
        outputs = page.evaluate("""() => [...window.jupyterapp.shell.currentWidget.content
            .model.cells].flatMap((cell) => cell.type === "code" ? cell.outputs.toJSON() : [])
            .filter((out) => out.output_type === "error" || out.name === "stderr")
            .map((out) => out.output_type === "error" ? `${out.ename}: ${out.evalue}` : out.text)""")
        pytest.fail(f"{notebook} did not run within {timeout_ms / 1000} s: "
                    f"{page.evaluate(progress)}; errors and stderr: {outputs}")
    failures = page.evaluate("""() => [...window.jupyterapp.shell.currentWidget.content.model.cells]
        .flatMap((cell) => cell.type === "code" ? cell.outputs.toJSON() : [])
        .filter((out) => out.output_type === "error" || out.name === "stderr")""")
    assert failures == []


def notebook_panel(page):
    """The notebook shown now (JupyterLab reopens the earlier tests' notebooks in tabs)."""
    return page.locator("#" + page.evaluate("window.jupyterapp.shell.currentWidget.id"))


def show_widget(page, index: int = 0):
    """Scroll the notebook to the cell of its ``index``-th PageCode, so that JupyterLab
    draws it (and the page runs its code); return the widget."""
    page.evaluate(r"""(index) => {
        const notebook = window.jupyterapp.shell.currentWidget.content;
        const cells = [...notebook.model.cells];
        const found = cells.map((cell, i) => [cell, i])
            .filter(([cell]) => /PageCode\(/.test(cell.sharedModel.source))[index];
        notebook.activeCellIndex = found[1];
        notebook.scrollToItem(found[1], "center");
    }""", index)
    return notebook_panel(page).locator(".chatkit-page").nth(index)


def lines(widget):
    return widget.locator(".chatkit-page-column").first.locator("li")


def test_notebook_01s_page_opens_a_real_websocket_and_the_kernel_hears_it(
        loopback_only, jupyterlab):
    """Run all: the page's own WebSocket logs open, the echo and the close in the widget,
    beside the Python client's events, and the same lines reach the kernel from that page."""
    page = loopback_only
    run_all_but_the_last_cell(page, jupyterlab, "01-raw-websocket.ipynb")
    widget = show_widget(page)
    expect(lines(widget)).to_have_text(WEBSOCKET_LINES, timeout=PAGE_WAIT_MS)
    expect(widget.locator(".chatkit-page-beside li")).to_have_text(
        ["OpenEvent(type='open')", "MessageEvent(data='hello', type='message')",
         "CloseEvent(code=1000, reason='done for today', was_clean=True, type='close')"],
        timeout=PAGE_WAIT_MS)
    expect(widget.locator(".chatkit-page-note")).to_be_hidden()
    seen = kernel_json(page, "import json\n"
                       "await running.wait_for(lambda: len(page.events) == 4, timeout=30)\n"
                       "print(json.dumps([page.events, page.problems, page.origin]))")
    assert seen == [WEBSOCKET_LINES, [], jupyterlab.base]
    assert screenshot(widget, "pagecode-01-websocket").stat().st_size > 5_000
    # In the same kernel (a second "run all" of 01 in JupyterLab's kept kernel was
    # flaky here: one cell once stayed unrun), what goes wrong is said in sentences.
    a_failed_connection_and_failing_code_are_said_in_sentences(page)


def a_failed_connection_and_failing_code_are_said_in_sentences(page):
    """Nothing listening: the widget says the browser could not connect and why that may
    be; a syntax error and an exception in a handler are named, the latter with its line;
    each sentence also reaches the kernel."""
    run_in_last_cell(page, """
import socket
with socket.socket() as placeholder:  # a port where nothing listens
    placeholder.bind(("127.0.0.1", 0))
    nowhere = f"ws://127.0.0.1:{placeholder.getsockname()[1]}"
broken = [PageCode('const ws = new WebSocket(url);\\nws.onerror = () => log("error");',
                   url=nowhere),
          PageCode("log('one';", url=server.url),
          PageCode('const ws = new WebSocket(url);\\nws.onopen = () => ws.send("x");\\n'
                   'ws.onmessage = (event) => event.data.nothing.here;', url=server.url)]
display(*broken)
""")
    widgets = notebook_panel(page).locator(".jp-Cell.jp-mod-active .chatkit-page")
    unreachable, syntax, handler = (widgets.nth(i) for i in range(3))
    expect(unreachable.locator(".chatkit-page-note")).to_have_text(re.compile(
        r"^The page could not connect to ws://127\.0\.0\.1:\d+\. This code runs in your "
        r"browser, so the address must be one the browser can reach: .*remote JupyterHub\. "
        r"Or the server refused the handshake: this page's origin \(http://127\.0\.0\.1:\d+\), "
        r"or the subprotocols offered\.$"), timeout=PAGE_WAIT_MS)
    expect(lines(unreachable)).to_have_text(["error"], timeout=PAGE_WAIT_MS)
    expect(syntax.locator(".chatkit-page-note")).to_have_text(
        re.compile(r"^Your JavaScript did not run: SyntaxError: "), timeout=PAGE_WAIT_MS)
    expect(handler.locator(".chatkit-page-note")).to_have_text(re.compile(
        r"^Your JavaScript failed \(line 3 of your JavaScript\): TypeError: .*'here'"),
        timeout=PAGE_WAIT_MS)
    problems = kernel_json(page, "import json\nawait running.wait_for(lambda: all("
                           "b.problems for b in broken), timeout=30)\n"
                           "print(json.dumps([b.problems for b in broken]))")
    assert [len(p) for p in problems] == [1, 1, 1]
    assert problems[0][0].startswith("The page could not connect to ws://127.0.0.1:")
    assert "line 3 of your JavaScript" in problems[2][0]
    screenshot(notebook_panel(page).locator(".jp-Cell.jp-mod-active"), "pagecode-sentences")


def test_notebook_02s_page_talks_socketio_with_the_kernels_server(loopback_only, jupyterlab):
    """Run all: the page's io(url) connects (its origin accepted), emits with acks and
    hears the server's event, all also in the kernel; a server that keeps the default
    origins, and one that refuses the auth, are told apart in sentences, each said once;
    clearing the output closes the page's socket (the server logs a client disconnect)."""
    page = loopback_only
    run_all_but_the_last_cell(page, jupyterlab, "02-socketio-emit-on.ipynb")
    widget = show_widget(page)
    expect(lines(widget)).to_have_text(
        [re.compile(r"^connect [A-Za-z0-9_-]{20}$"), "ack FROM THE PAGE", "whoami page",
         "news page to all: hello from the page"], timeout=PAGE_WAIT_MS)
    expect(widget.locator(".chatkit-page-note")).to_be_hidden()
    seen = kernel_json(page, "import json\n"
                       "await running.wait_for(lambda: len(page.events) == 4, timeout=30)\n"
                       "print(json.dumps([page.events[1:], page.problems]))")
    assert seen == [["ack FROM THE PAGE", "whoami page", "news page to all: hello from the page"],
                    []]
    screenshot(widget, "pagecode-02-socketio")

    # Clearing the cell's output removes the widget: the page closes the socket it opened.
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-cell-output')")
    expect(widget).to_have_count(0, timeout=PAGE_WAIT_MS)
    gone = kernel_json(page, "import json\nawait running.wait_for(lambda: \"disconnect page: "
                       "reason='client disconnect'\" in log, timeout=30)\nprint(json.dumps(True))")
    assert gone is True

    # The same page against a server that keeps python-socketio's default (its own pages
    # only: notebook 02's `polished`), and one that lets it in but refuses its auth.
    run_in_last_cell(page, """
refusing = ChatServer(cors_allowed_origins=from_this_computer)
await refusing.start(name="nb02-refusing")
strangers = [PageCode("io(url);", url=polished.url + "/chat"),
             PageCode("io(url, { auth: {} });", url=refusing.url + "/chat")]
display(*strangers)
""")
    widgets = notebook_panel(page).locator(".jp-Cell.jp-mod-active .chatkit-page")
    expect(widgets.nth(0).locator(".chatkit-page-note")).to_have_text(re.compile(
        r"^The page could not connect to http://127\.0\.0\.1:\d+/chat\. .* Or the server "
        r"refused this page's origin, http://127\.0\.0\.1:\d+: python-socketio accepts only "
        r"its own pages unless its cors_allowed_origins says otherwise\.$"),
        timeout=PAGE_WAIT_MS)
    expect(widgets.nth(1).locator(".chatkit-page-note")).to_have_text(
        re.compile(r"^The server refused the connection: .*name.*[^.]\.$"),  # one "."
        timeout=PAGE_WAIT_MS)
    problems = kernel_json(page, "import json\nawait running.wait_for(lambda: all("
                           "s.problems for s in strangers), timeout=30)\n"
                           "print(json.dumps([len(s.problems) for s in strangers]))")
    assert problems == [1, 1]  # said once, although socket.io keeps trying
    screenshot(notebook_panel(page).locator(".jp-Cell.jp-mod-active"), "pagecode-02-refused")


def test_notebook_04s_page_joins_the_lobby_and_ada_hears_it(loopback_only, jupyterlab):
    """Run all: the page connects to the chat server's /chat, joins the lobby (its ack has
    ada and the lobby's history), says hello; ada's Python client receives that `said`."""
    page = loopback_only
    run_all_but_the_last_cell(page, jupyterlab, "04-rooms-namespaces.ipynb")
    widget = show_widget(page)
    said = "said page: hello from the page"
    expect(lines(widget).filter(has_text=said)).to_have_count(1, timeout=PAGE_WAIT_MS)
    texts = lines(widget).all_inner_texts()
    assert 'joined lobby members ["ada","page"]' in texts, texts
    assert "history ada: hello, lobby" in texts, texts
    expect(widget.locator(".chatkit-page-note")).to_be_hidden()
    heard = kernel_json(page, "import json\nawait running.wait_for(lambda: any(str(e) == "
                        "'[lobby] page: hello from the page' for e in ada.events), timeout=30)\n"
                        "print(json.dumps([page.events.count(" + repr(said) + "), "
                        "page.problems]))")
    assert heard == [1, []]
    screenshot(widget, "pagecode-04-room")

    run_in_last_cell(page, "impostor = PageCode(page.code.replace('name: \"page\"', "
                           "'name: \"ada\"'), url=chat.url)\nimpostor")
    note = notebook_panel(page).locator(".jp-Cell.jp-mod-active .chatkit-page-note")
    expect(note).to_have_text(
        re.compile(r"^The server refused the connection: .*'ada'.*[^.]\.$"),
        timeout=PAGE_WAIT_MS)
