"""Notebook 05 in a real JupyterLab: two ChatPanels, typed into with a keyboard."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import open_and_run, screenshot

INJECTION = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'


def test_typing_in_alice_panel_reaches_bob_as_text(page, jupyterlab):
    """Enter in alice's panel shows the message in bob's; markup stays text, runs nothing."""
    open_and_run(page, jupyterlab, "05-live-chat-panel.ipynb", keep_last=True)
    views = page.locator(".chatkit-view")
    alice, bob = views.nth(0), views.nth(1)
    expect(page.locator(".widget-html-content", has_text="● connected").first).to_be_visible()
    # The notebook left alice looking at "math", with one unread message in the lobby.
    alice_rooms = page.locator(".widget-dropdown select").first
    expect(alice_rooms.locator("option")).to_have_text(["lobby (1)", "math"])
    alice_rooms.select_option(label="lobby (1)")
    expect(alice.locator(".chatkit-msg").last).to_have_text(re.compile("anyone still in the lobby"))

    alice.locator(".chatkit-input").fill("hello from a real browser")
    alice.locator(".chatkit-input").press("Enter")
    expect(bob.locator(".chatkit-msg", has_text="hello from a real browser")).to_have_count(1)
    expect(alice.locator(".chatkit-mine", has_text="hello from a real browser")).to_have_count(1)
    expect(alice.locator(".chatkit-input")).to_have_value("")  # cleared after the ack

    alice.locator(".chatkit-input").fill(INJECTION)
    alice.locator(".chatkit-send").click()
    row = bob.locator(".chatkit-msg").last
    expect(row.locator(".chatkit-text")).to_have_text(INJECTION)
    assert bob.locator("img, script").count() == 0
    assert page.evaluate("window.__pwned") is None

    shot = screenshot(page.locator(".jp-OutputArea-output").filter(has=views.nth(0)).first,
                      "05-two-panels")
    assert shot.stat().st_size > 10_000


def test_a_refused_message_is_shown_to_its_sender_in_the_browser(page, jupyterlab):
    """Too long: alice's panel shows why, in a refused row, and keeps her text."""
    open_and_run(page, jupyterlab, "05-live-chat-panel.ipynb", keep_last=True)
    alice = page.locator(".chatkit-view").nth(0)
    expect(alice.locator(".chatkit-input")).to_be_enabled()
    too_long = "y" * 2001
    alice.locator(".chatkit-input").evaluate(
        "(input, text) => { input.maxLength = 5000; input.value = text; "
        "input.dispatchEvent(new Event('input')); }", too_long)
    alice.locator(".chatkit-input").press("Enter")
    expect(alice.locator(".chatkit-refused").last).to_have_text(re.compile("too long"))
    expect(alice.locator(".chatkit-input")).to_have_value(too_long)
