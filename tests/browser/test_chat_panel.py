"""Notebook 05 in a real JupyterLab: the learner's own panel and two ChatPanels, typed
into with a keyboard, left live by "Run all"; the panel's layout at a 900 px window."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import open_and_run, screenshot

NOTEBOOK = "05-live-chat-panel.ipynb"
INJECTION = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'
LONG_NAME = "Maximilianatheodorawolfeschlegel"  # 32 characters, nowhere to break


def run_in_kernel(page, code: str) -> None:
    """Run ``code`` in the notebook's kernel (top-level await allowed); raise on an error."""
    error = page.evaluate("""async (code) => {
        const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const future = kernel.requestExecute({code, store_history: false});
        let error = null;
        future.onIOPub = (msg) => {
            if (msg.header.msg_type === "error") error = `${msg.content.ename}: ${msg.content.evalue}`;
        };
        const late = new Promise((resolve) => setTimeout(() => resolve("late"), 60000));
        if (await Promise.race([future.done, late]) === "late") return "no reply within 60 s";
        return error;
    }""", code)
    assert error is None, error


def chat_panels(page):
    """alice's and bob's ChatPanels: the first two message lists of the notebook."""
    views = page.locator(".chatkit-view")
    return views.nth(0), views.nth(1)


def test_run_all_leaves_the_panels_live_and_typing_in_them_reaches_the_others(page, jupyterlab):
    """After "Run all" every panel is connected: typing in ada's own widgets and clicking
    Send reaches bob's ChatPanel; Enter in alice's reaches bob as text, running nothing."""
    open_and_run(page, jupyterlab, NOTEBOOK)
    alice, bob = chat_panels(page)
    expect(page.locator(".widget-html-content", has_text="● connected")).to_have_count(3)
    alice_rooms = page.locator(".widget-dropdown select").first
    expect(alice_rooms.locator("option")).to_have_text(["lobby", "math"])
    expect(alice.locator(".chatkit-msg").last).to_have_text(re.compile("anyone still in the lobby"))

    # The learner's own panel: a widgets.Text, a widgets.Button, one Label per message.
    ada_draft = page.get_by_placeholder("message from ada")
    ada_panel = page.locator(".jp-OutputArea-output").filter(has=ada_draft)
    ada_draft.fill("typed into ada's own panel")
    ada_panel.locator("button.jupyter-button", has_text="Send").click()
    expect(bob.locator(".chatkit-msg", has_text="typed into ada's own panel")).to_have_count(1)
    expect(alice.locator(".chatkit-msg", has_text="typed into ada's own panel")).to_have_count(1)
    expect(ada_panel.locator("div.widget-label", has_text="ada: typed into ada's own panel")) \
        .to_have_count(1)
    expect(ada_draft).to_have_value("")  # emptied after the ack

    alice.locator(".chatkit-input").fill("hello from a real browser")
    alice.locator(".chatkit-input").press("Enter")
    expect(bob.locator(".chatkit-msg", has_text="hello from a real browser")).to_have_count(1)
    expect(alice.locator(".chatkit-mine", has_text="hello from a real browser")).to_have_count(1)
    expect(ada_panel.locator("div.widget-label", has_text="alice: hello from a real browser")) \
        .to_have_count(1)
    expect(alice.locator(".chatkit-input")).to_have_value("")  # cleared after the ack

    alice.locator(".chatkit-input").fill(INJECTION)
    alice.locator(".chatkit-send").click()
    row = bob.locator(".chatkit-msg").last
    expect(row.locator(".chatkit-text")).to_have_text(INJECTION)
    expect(ada_panel.locator("div.widget-label").last).to_have_text(f"alice: {INJECTION}")
    assert bob.locator("img, script").count() == 0
    assert ada_panel.locator("img, script").count() == 0
    assert page.evaluate("window.__pwned") is None

    # What the notebook says of a Label: one line, ending in "…", and LaTeX typeset.
    run_in_kernel(page, 'await bob.say("lobby", "it costs $5 or $10")')
    expect(row.locator(".chatkit-text")).to_have_text("it costs $5 or $10")  # a ChatPanel row
    expect(ada_panel.locator("div.widget-label").last.locator("mjx-container")).to_have_count(1)
    assert ada_panel.locator("div.widget-label").last.evaluate(
        "el => [getComputedStyle(el).whiteSpace, getComputedStyle(el).textOverflow]") == \
        ["nowrap", "ellipsis"]

    shot = screenshot(ancestor(alice, "jp-OutputArea-output"), "05-two-panels")
    assert shot.stat().st_size > 10_000
    screenshot(ada_panel.first, "05-your-own-panel")


def test_a_refused_message_is_shown_to_its_sender_in_the_browser(page, jupyterlab):
    """Too long: alice's panel shows why, in a refused row, and keeps her text."""
    open_and_run(page, jupyterlab, NOTEBOOK)
    alice, _ = chat_panels(page)
    expect(alice.locator(".chatkit-input")).to_be_enabled()
    too_long = "y" * 2001
    alice.locator(".chatkit-input").evaluate(
        "(input, text) => { input.maxLength = 5000; input.value = text; "
        "input.dispatchEvent(new Event('input')); }", too_long)
    alice.locator(".chatkit-input").press("Enter")
    expect(alice.locator(".chatkit-refused").last).to_have_text(re.compile("too long"))
    expect(alice.locator(".chatkit-input")).to_have_value(too_long)


def test_at_a_900_px_window_nothing_of_the_panels_is_cut_off(browser, jupyterlab):
    """In a 900 px wide window, side by side in a plain HBox (each panel squeezed to half
    the width) or in the notebook's wrapping HBox (the second panel below the first):
    each Leave button shows where it is drawn, inside its panel and output area (so do
    Send and the member list), and a
    32-character name wraps inside the member list instead of being clipped."""
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    page = context.new_page()
    try:
        open_and_run(page, jupyterlab, NOTEBOOK)
        run_in_kernel(page, f'long_named = await ChatClient("{LONG_NAME}", '
                            f'rooms=["lobby"]).connect(server.url)')
        alice, bob = chat_panels(page)
        for view in (alice, bob):
            expect(view.locator("xpath=../..").locator("li", has_text=LONG_NAME)).to_be_visible()
        for wrap in ("nowrap", "wrap"):  # widgets.HBox([alice, bob]); the notebook's
            alice.evaluate("(view, wrap) => { view.closest('.jp-OutputArea-output')"
                           ".querySelector('.widget-hbox').style.flexWrap = wrap; }", wrap)
            tops = []
            for view in (alice, bob):
                seen = measure(view)
                assert inside(seen["leave"], seen["panel"]), (wrap, seen)
                assert inside(seen["send"], seen["panel"]), (wrap, seen)
                assert inside(seen["members"], seen["panel"]), (wrap, seen)
                assert inside(seen["panel"], seen["area"]), (wrap, seen)
                assert seen["leave_shown"], f"{wrap}: the Leave button is covered: {seen}"
                assert not seen["name_overflows"], f"{wrap}: the name overflows: {seen}"
                tops.append(seen["panel_top_in_area"])
            if wrap == "wrap":
                assert tops[0] < 10 < 100 < tops[1], tops  # bob's panel below alice's
            else:
                assert abs(tops[1] - tops[0]) < 2, tops  # side by side
            screenshot(ancestor(alice, "jp-OutputArea-output"), f"05-panels-at-900px-{wrap}")
    finally:
        context.close()


def measure(view) -> dict:
    """Where a ChatPanel's parts are drawn, all measured at one moment (JupyterLab may
    scroll between two separate measurements): its box, its output area's, its Leave and
    Send buttons' and member list's, whether the Leave button is what the page shows at its
    centre, whether the long name is wider than its list item, and how far below the top
    of its output area the panel starts."""
    return view.evaluate("""(view, name) => {
        const up = (el, cls) => { while (!el.classList.contains(cls)) el = el.parentElement; return el; };
        const panel = up(view, "widget-vbox"), area = up(view, "jp-OutputArea-output");
        const leave = [...panel.querySelectorAll("button")].find(b => b.textContent.trim() === "Leave");
        const item = [...panel.querySelectorAll("li")].find(li => li.textContent === name);
        leave.scrollIntoView({block: "center"});
        const rect = (el) => { const r = el.getBoundingClientRect();
                               return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
        const l = leave.getBoundingClientRect();
        const hit = document.elementFromPoint(l.left + l.width / 2, l.top + l.height / 2);
        return {panel: rect(panel), area: rect(area), leave: rect(leave),
                send: rect(panel.querySelector(".chatkit-send")),
                members: rect(up(item, "widget-html")),
                leave_shown: hit !== null && (hit === leave || leave.contains(hit)),
                name_overflows: item.scrollWidth > item.clientWidth + 1,
                panel_top_in_area: panel.getBoundingClientRect().top - area.getBoundingClientRect().top};
    }""", LONG_NAME)


def test_your_own_message_is_never_counted_as_a_new_one(page, jupyterlab):
    """Scrolled up, a message from bob shows "1 new message"; one alice sends herself
    scrolls her list down to it and clears the count instead."""
    open_and_run(page, jupyterlab, NOTEBOOK)
    alice, _ = chat_panels(page)
    run_in_kernel(page, 'for n in range(30):\n    await bob_panel.say(f"filler {n}")')
    expect(alice.locator(".chatkit-msg").last).to_have_text(re.compile("filler 29"))
    log, more = alice.locator(".chatkit-log"), alice.locator(".chatkit-more")
    log.evaluate("log => { log.scrollTop = 0; }")
    run_in_kernel(page, 'await bob_panel.say("news while alice reads old messages")')
    expect(more).to_be_visible()
    expect(more).to_have_text(re.compile(r"^1 new message"))

    log.evaluate("log => { log.scrollTop = 0; }")
    alice.locator(".chatkit-input").fill("my own message")
    alice.locator(".chatkit-input").press("Enter")
    expect(alice.locator(".chatkit-mine", has_text="my own message")).to_have_count(1)
    expect(more).to_be_hidden()
    assert log.evaluate("log => log.scrollHeight - log.scrollTop - log.clientHeight < 40")


def ancestor(locator, css_class: str):
    """The nearest element around ``locator``'s that has ``css_class``."""
    return locator.locator(f"xpath=ancestor::*[contains(concat(' ', @class, ' '), "
                           f"' {css_class} ')][1]")


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["left"] >= outer["left"] - slack and inner["top"] >= outer["top"] - slack
            and inner["right"] <= outer["right"] + slack
            and inner["bottom"] <= outer["bottom"] + slack)
