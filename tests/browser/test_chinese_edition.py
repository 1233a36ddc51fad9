"""The Chinese edition in a real JupyterLab: run all, and what chatkit draws (the
ChatPanel, notebook 00's plot) is in Chinese, with a font that has the characters."""

import re
import shutil
import subprocess

from playwright.sync_api import expect

from chatkit.language import translate
from tests.browser.conftest import open_and_run, screenshot


def test_this_chromium_has_a_font_for_chinese():
    """`make browser` installs one (fonts-noto-cjk): without it every character below
    would be drawn as an empty box."""
    assert shutil.which("fc-list"), "fontconfig is what Chromium finds its fonts with"
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                           text=True, check=True).stdout
    assert fonts.strip(), "no font for Chinese: run `make browser`"


def test_the_chinese_notebook_05_shows_chinese_chat_panels(page, jupyterlab):
    """Run all in zh/05: the panels say 已连接, their buttons and input are Chinese, and
    people's messages are shown as they typed them."""
    open_and_run(page, jupyterlab, "zh/05-live-chat-panel.ipynb")
    connected = f"● {translate('connected', 'zh')}"
    expect(page.locator(".widget-html-content", has_text=connected)).to_have_count(3)
    views = page.locator(".chatkit-view")
    alice = views.nth(0)
    send = translate("Send", "zh")
    expect(alice.locator(".chatkit-send")).to_have_text(send)
    expect(alice.locator(".chatkit-input")).to_have_attribute(
        "placeholder", translate("Type a message and press Enter", "zh"))
    panel = alice.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
    expect(panel.locator("button.jupyter-button", has_text=translate("Leave", "zh")).first) \
        .to_be_visible()
    alice.locator(".chatkit-input").fill("你好，这是浏览器里打的字")
    alice.locator(".chatkit-input").press("Enter")
    expect(views.nth(1).locator(".chatkit-msg", has_text="你好，这是浏览器里打的字")) \
        .to_have_count(1)
    screenshot(panel, "zh-05-chat-panels")


def test_the_chinese_notebook_00_plots_in_chinese(page, jupyterlab):
    """Run all in zh/00: the experiment's plot is drawn with the Chinese font (its title
    and axes come from chatkit's catalogue), and the kernel's matplotlib has one."""
    open_and_run(page, jupyterlab, "zh/00-start-here.ipynb")
    plot = page.locator(".jp-OutputArea-output img").first
    expect(plot).to_be_visible()
    plot.scroll_into_view_if_needed()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0",
                           arg=plot.element_handle())
    screenshot(plot, "zh-00-staleness-plot")
    printed = page.locator(".jp-OutputArea-output").filter(has_text=re.compile(
        r"推送的陈旧度中位数"))  # the cell above the plot prints in Chinese too
    expect(printed.first).to_be_visible()
