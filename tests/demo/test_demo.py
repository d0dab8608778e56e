"""The demo app (app.py) in Chromium: what a newcomer sees after `make run`.

Every test runs `python app.py` in a subprocess and opens pages in separate browser contexts
(separate cookies, so separate sign-ins). The `pages` fixture fails a test whose pages reported
any JavaScript error (uncaught exceptions, console errors).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import WebSocket, expect

from demo.harness import ROOT, DemoPage, DemoServer, Pages, wait_for_status

OPTIONS = ("python", "csharp", "javascript")
PLACEHOLDER = "\N{EN DASH}"  # what the page shows before the server has told it anything
TEXT_LINES = (ROOT / "demo.txt").read_text(encoding="utf-8").splitlines()


def expect_votes(page: DemoPage, python: int, csharp: int, javascript: int) -> None:
    for option, votes in zip(OPTIONS, (python, csharp, javascript), strict=True):
        expect(page.locator(f'[data-count="{option}"]')).to_have_text(str(votes))


def post(url: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def test_two_pages_vote_and_see_each_others_votes(pages: Pages) -> None:
    a, b = pages.open(), pages.open()
    expect(a.locator("#view-count")).to_have_text("2")
    expect(b.locator("#view-count")).to_have_text("2")
    expect_votes(a, 0, 0, 0)

    a.click('[data-vote="python"]')
    expect_votes(b, 1, 0, 0)
    b.click('[data-vote="csharp"]')
    b.click('[data-vote="csharp"]')
    expect_votes(a, 1, 2, 0)
    expect_votes(b, 1, 2, 0)
    # The bar chart follows: the leader fills its bar, the others in proportion.
    expect(a.locator('[data-bar="csharp"]')).to_have_attribute("style", "width: 100%;")
    expect(a.locator('[data-bar="python"]')).to_have_attribute("style", "width: 50%;")

    b.context.close()  # the page goes away: on_disconnected counts it out
    expect(a.locator("#view-count")).to_have_text("1")


def test_the_server_refuses_a_vote_for_an_unknown_option(pages: Pages) -> None:
    page = pages.open()
    # A tampered page: the button now votes for something not on the ballot.
    page.locator('[data-vote="python"]').evaluate("button => button.dataset.vote = 'cobol'")
    page.click('[data-vote="cobol"]')
    expect(page.locator("#error")).to_contain_text("Unknown option 'cobol'")
    page.click('[data-vote="csharp"]')
    expect_votes(page, 0, 1, 0)


def test_a_vote_through_the_rest_api_reaches_every_page(
    pages: Pages, demo_server: DemoServer
) -> None:
    a, b = pages.open(), pages.open(protocol="messagepack")
    status, votes = post(demo_server.url + "/api/votes/javascript")
    assert (status, votes) == (200, {"python": 0, "csharp": 0, "javascript": 1})
    expect_votes(a, 0, 0, 1)
    expect_votes(b, 0, 0, 1)

    status, error = post(demo_server.url + "/api/votes/cobol")
    assert status == 404
    assert "Unknown option 'cobol'" in str(error["error"])


def test_the_server_time_ticks(pages: Pages) -> None:
    page = pages.open()
    clock = page.locator("#current-time")
    expect(clock).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    first = clock.text_content()
    expect(clock).not_to_have_text(first or "", timeout=5_000)


def test_only_an_admin_changes_everyones_background(pages: Pages) -> None:
    kevin, admin = pages.open("kevin"), pages.open("admin")
    body_before = admin.evaluate("getComputedStyle(document.body).backgroundColor")

    kevin.fill("#background-color", "#123456")
    kevin.click("#change-background")
    expect(kevin.locator("#error")).to_contain_text("unauthorized")
    assert kevin.evaluate("getComputedStyle(document.body).backgroundColor") == body_before

    admin.fill("#background-color", "#ffa500")
    admin.click("#change-background")
    expect(admin.locator("body")).to_have_css("background-color", "rgb(255, 165, 0)")
    expect(kevin.locator("body")).to_have_css("background-color", "rgb(255, 165, 0)")
    # A page opened later asks for the current background as it connects.
    late = pages.open()
    expect(late.locator("body")).to_have_css("background-color", "rgb(255, 165, 0)")
    expect(admin.locator("#error")).to_have_text("")


def test_sign_in_and_out(pages: Pages) -> None:
    page = pages.open()
    expect(page.locator("#current-user")).to_have_text("anonymous")
    page.fill("#username", "kevin")
    page.fill("#password", "wrong")
    page.click("#login")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    expect(page.locator("#current-user")).to_have_text("anonymous")

    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("#login")
    expect(page.locator("#current-user")).to_have_text("admin")
    expect(page.locator("#account")).to_contain_text("ADMIN")
    wait_for_status(page.page, "connected")

    page.click("#logout")
    expect(page.locator("#current-user")).to_have_text("anonymous")
    wait_for_status(page.page, "connected")


def test_send_to_a_user(pages: Pages) -> None:
    kevin, admin = pages.open("kevin"), pages.open("admin")
    admin.fill("#message-text", "hello kevin")
    admin.fill("#user-name", "kevin")
    admin.click("#send-to-user")
    expect(kevin.locator("#messages li").first).to_have_text("admin to user kevin: hello kevin")
    # Messages to the sender would arrive before its invocation completes: none came.
    expect(admin.locator("#message-status")).to_have_text('Sent "hello kevin" to user kevin.')
    expect(admin.locator("#messages li")).to_have_count(0)


def test_groups(pages: Pages) -> None:
    a, b = pages.open("kevin"), pages.open()

    a.click('[data-join="Orange"]')
    expect(a.locator("#my-groups")).to_have_text("Orange")
    b.fill("#message-text", "one")
    b.select_option("#group-name", "Orange")
    b.click("#send-to-group")
    expect(a.locator("#messages li").first).to_have_text("anonymous to group Orange: one")
    # B is not in Orange; had it been, "one" would have reached it before its call completed.
    expect(b.locator("#message-status")).to_have_text('Sent "one" to group Orange.')
    expect(b.locator("#messages li")).to_have_count(0)

    a.click('[data-join="Yellow"]')
    b.click('[data-join="Yellow"]')
    expect(a.locator("#my-groups")).to_have_text("Orange, Yellow")
    expect(b.locator("#my-groups")).to_have_text("Yellow")
    a.fill("#message-text", "two")
    a.select_option("#group-name", "Yellow")
    a.click("#send-to-others")
    expect(b.locator("#messages li").first).to_have_text("kevin to others in Yellow: two")
    expect(a.locator("#message-status")).to_have_text('Sent "two" to others in Yellow.')
    expect(a.locator("#messages li")).to_have_count(1)  # only "one"

    a.click('[data-leave="Orange"]')
    expect(a.locator("#my-groups")).to_have_text("Yellow")
    b.fill("#message-text", "three")
    b.select_option("#group-name", "Orange")
    b.click("#send-to-group")
    expect(b.locator("#message-status")).to_have_text('Sent "three" to group Orange.')
    b.fill("#message-text", "four")
    b.select_option("#group-name", "Yellow")
    b.click("#send-to-group")
    # "four" went out after "three": A has it, so "three" (to Orange) would have come first.
    expect(a.locator("#messages li").first).to_have_text("anonymous to group Yellow: four")
    expect(a.locator("#messages li")).to_have_count(2)

    # The server checks every group name.
    a.locator('[data-join="Green"]').evaluate("button => button.dataset.join = 'Purple'")
    a.click('[data-join="Purple"]')
    expect(a.locator("#error")).to_contain_text("There is no group 'Purple'")


def test_restarting_the_server_reconnects_and_resyncs(
    pages: Pages, demo_server: DemoServer
) -> None:
    a, b = pages.open(), pages.open()
    a.click('[data-join="Green"]')
    expect(a.locator("#my-groups")).to_have_text("Green")
    a.click('[data-vote="python"]')
    expect_votes(b, 1, 0, 0)

    with pages.server_down():
        demo_server.stop()
        wait_for_status(a.page, "reconnecting")
        wait_for_status(b.page, "reconnecting")
        demo_server.start()
        wait_for_status(a.page, "connected")
        wait_for_status(b.page, "connected")

    # The new server counts from zero (votes live in memory); the pages ask rather than trust.
    expect_votes(a, 0, 0, 0)
    expect_votes(b, 0, 0, 0)
    expect(a.locator("#view-count")).to_have_text("2")
    expect(a.locator("#my-groups")).to_have_text("Green")  # joined again on the new connection
    b.click('[data-vote="javascript"]')
    expect_votes(a, 0, 0, 1)
    b.select_option("#group-name", "Green")
    b.fill("#message-text", "welcome back")
    b.click("#send-to-group")
    expect(a.locator("#messages li").first).to_have_text("anonymous to group Green: welcome back")


def test_the_stream_shows_lines_as_they_come_and_stop_cancels_it(
    pages: Pages, demo_server: DemoServer
) -> None:
    page = pages.open()
    lines = page.locator("#stream-lines li")
    page.click("#stream-start")
    expect(page.locator("#stream-status")).to_have_text("streaming")
    expect(lines.nth(2)).to_have_text(TEXT_LINES[2])
    expect(lines.first).to_have_text(TEXT_LINES[0])

    page.click("#stream-stop")
    expect(page.locator("#stream-status")).to_have_text("stopped")
    shown = lines.count()
    sent = int(demo_server.wait_for_log(r"Stream to \S+ cancelled after (\d+) lines")[1])
    assert 3 <= shown <= sent < len(TEXT_LINES)
    assert lines.count() == shown  # nothing after Stop

    # Start again: from the beginning of the file.
    page.click("#stream-start")
    expect(lines.nth(1)).to_have_text(TEXT_LINES[1])
    expect(lines.first).to_have_text(TEXT_LINES[0])
    page.click("#stream-stop")
    expect(page.locator("#stream-status")).to_have_text("stopped")


def test_messagepack_switch(pages: Pages) -> None:
    json_page = pages.open()
    page = pages.open()
    handshakes: list[str] = []
    binary_frames: list[bytes] = []

    def watch(socket: WebSocket) -> None:
        def sent(payload: str | bytes) -> None:
            if isinstance(payload, bytes):
                binary_frames.append(payload)
            elif '"protocol"' in payload:
                handshakes.append(payload)

        socket.on("framesent", sent)

    page.on("websocket", watch)
    page.select_option("#protocol", "messagepack")
    page.wait_for_url("**/?protocol=messagepack")
    wait_for_status(page.page, "connected")
    expect(page.locator("#protocol")).to_have_value("messagepack")

    page.click('[data-vote="csharp"]')
    expect_votes(page, 0, 1, 0)
    expect_votes(json_page, 0, 1, 0)
    json_page.click('[data-vote="python"]')
    expect_votes(page, 1, 1, 0)
    assert handshakes and all('"messagepack"' in handshake for handshake in handshakes)
    assert binary_frames, "no MessagePack frame was sent"


def test_the_page_looks_right(
    pages: Pages, demo_server: DemoServer, screenshot_path: Callable[[], list[Path]]
) -> None:
    """A populated page, saved as a screenshot (DEMO_SCREENSHOT=docs/screenshot.png)."""
    admin, kevin = pages.open("admin"), pages.open("kevin")
    for option, times in (("python", 5), ("csharp", 3), ("javascript", 4)):
        for _ in range(times):
            post(demo_server.url + f"/api/votes/{option}")
    expect_votes(admin, 5, 3, 4)
    kevin.click('[data-join="Orange"]')
    expect(kevin.locator("#my-groups")).to_have_text("Orange")
    admin.fill("#message-text", "Hello Orange!")
    admin.click("#send-to-group")
    admin.fill("#message-text", "Hi Kevin")
    admin.click("#send-to-user")
    expect(kevin.locator("#messages li")).to_have_count(2)
    admin.fill("#background-color", "#ffe8b0")
    admin.click("#change-background")
    expect(kevin.locator("body")).to_have_css("background-color", "rgb(255, 232, 176)")
    kevin.click("#stream-start")
    expect(kevin.locator("#stream-lines li").nth(5)).to_be_visible()
    kevin.click("#stream-stop")
    expect(kevin.locator("#stream-status")).to_have_text("stopped")
    expect(kevin.locator("#view-count")).to_have_text("2")
    for path in screenshot_path():
        path.parent.mkdir(parents=True, exist_ok=True)
        kevin.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
def test_no_javascript_errors_on_a_fresh_page(pages: Pages, protocol: str) -> None:
    page = pages.open(protocol=protocol)
    expect(page.locator("#current-time")).not_to_have_text(PLACEHOLDER)
    expect(page.locator('[data-count="python"]')).to_have_text("0")
    assert page.errors == []


def test_instances_on_one_redis_share_votes_groups_and_live_updates(
    redis_url: str, pages: Pages, start_demo: Callable[..., DemoServer]
) -> None:
    """`--redis URL`: two instances are one app to their pages (the backplane, plus tallies)."""
    one, two = start_demo(redis_url), start_demo(redis_url)
    assert post(one.url + "/api/votes/python")[0] == 200
    on_one, on_two = pages.open("kevin", server=one), pages.open(server=two)
    expect_votes(on_two, 1, 0, 0)  # asked for at connect: instance two counts instance one's vote
    on_two.click('[data-vote="csharp"]')  # a vote on instance two updates the page on one live
    expect_votes(on_one, 1, 1, 0)
    status, votes = post(two.url + "/api/votes/javascript")
    assert (status, votes) == (200, {"python": 1, "csharp": 1, "javascript": 1})
    expect_votes(on_one, 1, 1, 1)
    on_one.click('[data-join="Orange"]')  # a group with a member on instance one only
    expect(on_one.locator("#my-groups")).to_have_text("Orange")
    on_two.fill("#message-text", "across")
    on_two.select_option("#group-name", "Orange")
    on_two.click("#send-to-group")
    expect(on_one.locator("#messages li").first).to_have_text("anonymous to group Orange: across")
    expect(on_two.locator("#messages li")).to_have_count(0)
