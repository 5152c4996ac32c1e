"""The console on a phone (390 px wide) in Chromium: the members' table scrolls inside itself and
nothing makes the page wider than the screen, so the header spans the whole width."""

from __future__ import annotations

from tests.console.test_browser import PASSWORD, browser, server  # noqa: F401 - fixtures

PHONE = {"width": 390, "height": 844}


def test_the_console_fits_a_phone(browser, server):  # noqa: F811
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(server.url + "/console/")
    page.fill("#username", "awa")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/console/")
    for path in ("/console/", "/console/members", "/console/reports", "/console/broadcasts"):
        page.goto(server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)  # no sideways scrolling of the page
        header = page.locator("header").bounding_box()
        assert header is not None and header["width"] >= PHONE["width"] - 1, path
    page.goto(server.url + "/console/members")
    table = page.locator("main table").first
    assert table.evaluate("t => getComputedStyle(t).overflowX") == "auto"
    assert table.evaluate("t => t.scrollWidth > t.clientWidth")  # it scrolls, by itself
    context.close()
