"""The rendered page in headless Chromium: it draws the input, filters, finds, and runs nothing it was given."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page, Request, sync_playwright

from tests.browser import CHROMIUM, launch_chromium, wait_until_laid_out
from viewer import ViewGraph, graph_from_rows, render_html

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
HOSTILE = "</script><script>alert(1)</script>"


def flow(src: str, dst: str, action: str, count: int, port: int = 443, **extra: Any) -> dict[str, Any]:
    return {"src": src, "dst": dst, "port": port, "protocol": 6, "action": action, "count": count,
            "packets": count * 3, "bytes": count * 500, "first_seen": 1_717_200_000,
            "last_seen": 1_717_203_600} | extra  # fmt: skip


ROWS = [
    flow("10.0.1.10", "10.0.2.20", "ACCEPT", 120, 5432, src_name="web-1", src_group="web", dst_name="db-primary"),
    flow("10.0.1.11", "10.0.2.20", "ACCEPT", 80, 5432, src_name="web-2", src_group="web"),
    flow("10.0.1.11", "10.0.2.20", "REJECT", 2, 22, src_name="web-2", src_group="web"),
    flow("203.0.113.9", "10.0.1.10", "ACCEPT", 40, src_scope="public", dst_scope="vpc"),
    flow("203.0.113.9", "10.0.3.5", "REJECT", 9, 22, dst_name="bastion"),
    flow("198.51.100.7", "10.0.3.5", "REJECT", 1, 22),
    flow("10.0.3.5", "10.0.2.20", "ACCEPT", 5, 5432),
    flow("10.0.2.20", "52.94.0.10", "ACCEPT", 15, dst_scope="aws-service", dst_name="s3"),
]


@dataclass
class OpenedView:
    """A page showing a view, with everything it did that a view must not do."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    local_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def listen(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        self.page.on("dialog", self._on_dialog)
        self.page.on("request", self._on_request)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_page_error(self, error: Error) -> None:
        self.console_errors.append(str(error))

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_request(self, request: Request) -> None:
        local = request.url.startswith(LOCAL_SCHEMES)
        (self.local_requests if local else self.outside_requests).append(request.url)

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def visible_edges(self) -> list[dict[str, Any]]:
        return self.js(
            "() => vpcflowView.visibleEdges.get().map(({from, to, action, count}) =>"
            " ({from: vpcflowView.keyOf(from), to: vpcflowView.keyOf(to), action, count}))"
        )

    def assert_quiet(self) -> None:
        assert self.local_requests, "the request listener saw not even the page itself"
        assert (self.console_errors, self.outside_requests, self.dialogs) == ([], [], [])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture
def open_view(browser: Browser, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., OpenedView]]:
    opened: list[OpenedView] = []

    def open_(graph: ViewGraph, title: str = "Test view") -> OpenedView:
        path = tmp_path / f"view{len(opened)}.html"
        path.write_text(render_html(graph, title=title, params={"k": 10}, subtitle="test"), encoding="utf-8")
        view = OpenedView(browser.new_page(viewport={"width": 1200, "height": 760}))
        view.listen()
        view.page.goto(path.as_uri())
        wait_until_laid_out(view.page, timeout_ms=15_000)
        opened.append(view)
        return view

    yield open_
    ARTIFACTS.mkdir(exist_ok=True)
    for index, view in enumerate(opened):
        name = re.sub(r"[^\w.-]+", "-", request.node.name)
        view.page.screenshot(path=ARTIFACTS / f"{name}{'-' + str(index) if index else ''}.png")
        view.page.close()


def test_the_datasets_hold_exactly_the_input_and_nothing_leaves_the_page(open_view: Callable[..., OpenedView]) -> None:
    graph = graph_from_rows(ROWS)
    view = open_view(graph)
    assert sorted(view.js("() => vpcflowView.nodes.getIds().map(vpcflowView.keyOf)")) == sorted(
        n["id"] for n in graph.nodes
    )
    drawn = view.js(
        "() => vpcflowView.edges.get().map(e => [vpcflowView.keyOf(e.from), vpcflowView.keyOf(e.to), e.action, e.count])"
    )
    assert sorted(map(tuple, drawn)) == sorted((e["src"], e["dst"], e["action"], e["count"]) for e in graph.edges)
    assert view.js("() => vpcflowView.stabilisedMs") > 0
    view.assert_quiet()


def test_the_layout_freezes_and_can_resume(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    before = view.js("() => vpcflowView.network.getPositions()")
    view.page.wait_for_timeout(300)
    assert view.js("() => vpcflowView.network.getPositions()") == before
    view.page.click("#resume")
    assert view.page.inner_text("#resume") == "Freeze layout"
    view.assert_quiet()


def test_unchecking_reject_hides_reject_edges(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    assert len(view.visible_edges()) == len(ROWS)
    view.page.uncheck("#show-reject")
    visible = view.visible_edges()
    assert {e["action"] for e in visible} == {"ACCEPT"}
    assert len(visible) == sum(r["action"] == "ACCEPT" for r in ROWS)
    # The network itself no longer knows the edges into the bastion, all of them REJECT.
    assert view.js("() => vpcflowView.network.getConnectedEdges(vpcflowView.idOf('10.0.3.5')).length") == 1
    view.page.check("#show-reject")
    assert len(view.visible_edges()) == len(ROWS)
    view.assert_quiet()


def test_the_minimum_count_slider_hides_low_count_edges(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    counts = sorted({r["count"] for r in ROWS})
    view.page.locator("#min-count").fill(str(counts.index(15)))
    assert view.page.inner_text("#min-count-value") == "15"
    assert sorted(e["count"] for e in view.visible_edges()) == [15, 40, 80, 120]
    view.assert_quiet()


@pytest.mark.parametrize(
    ("query", "expected"), [("db-primary", "10.0.2.20"), ("203.0.113.9", "203.0.113.9"), ("BAST", "10.0.3.5")]
)
def test_search_selects_and_focuses_the_node(open_view: Callable[..., OpenedView], query: str, expected: str) -> None:
    view = open_view(graph_from_rows(ROWS))
    view.page.fill("#search", query)
    view.page.press("#search", "Enter")
    assert view.js("() => vpcflowView.network.getSelectedNodes().map(vpcflowView.keyOf)") == [expected]
    view.page.fill("#search", "no-such-node")
    view.page.press("#search", "Enter")
    assert view.page.inner_text("#search-status") == "No node matches."
    view.assert_quiet()


def test_a_hostile_name_shows_as_text_and_runs_nothing(open_view: Callable[..., OpenedView]) -> None:
    rows = [*ROWS, flow("198.51.100.66", "10.0.2.20", "REJECT", 3, 5432, src_name=HOSTILE)]
    view = open_view(graph_from_rows(rows), title=HOSTILE)
    assert view.js("() => vpcflowView.nodes.get(vpcflowView.idOf('198.51.100.66')).label") == HOSTILE
    assert view.page.inner_text("h1") == HOSTILE
    assert view.js("() => document.scripts.length") == 3
    tooltip = hover_node(view, "198.51.100.66")
    assert HOSTILE in tooltip and "Traffic1.5 kB (1,500)" in tooltip
    view.assert_quiet()


def hover_node(view: OpenedView, node_id: str) -> str:
    """Move the mouse onto a node (by its real id) and return the text of the tooltip vis-network shows.

    The node is first moved clear of the others: a layout may leave two nodes overlapping, and the
    pointer then finds the one drawn on top (seen once in CI-like runs: "valueOf" for "constructor")."""
    x, y = view.js(
        """(key) => {
          const id = vpcflowView.idOf(key);
          const network = vpcflowView.network, box = document.querySelector('#graph canvas').getBoundingClientRect();
          const xs = Object.values(network.getPositions()).map(p => p.x);
          network.moveNode(id, Math.max(...xs) + 300, 0);
          network.moveTo({position: network.getPosition(id), scale: 1.5});
          const at = network.canvasToDOM(network.getPosition(id));
          return [box.left + at.x, box.top + at.y];
        }""",
        node_id,
    )
    view.page.mouse.move(x, y)
    tooltip = view.page.locator("div.vis-tooltip")
    tooltip.wait_for(state="visible", timeout=3_000)
    return tooltip.inner_text().replace("\t", "").replace("\n", "")


def test_edge_tooltips_name_the_protocol_and_times_in_utc(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    texts = view.js("() => vpcflowView.edges.get().map(e => e.title.textContent)")
    assert "web-1 → db-primaryActionACCEPTPort5432ProtocolTCPCount120Packets360Bytes60.0 kB (60,000)" \
        "First seen2024-06-01T00:00:00ZLast seen2024-06-01T01:00:00Z" in texts  # fmt: skip
    view.assert_quiet()


def test_group_by_merges_nodes(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS, group_by="group"))
    ids = set(view.js("() => vpcflowView.nodes.getIds().map(vpcflowView.keyOf)"))
    assert "group:web" in ids and not {"10.0.1.10", "10.0.1.11"} & ids
    assert view.js("() => vpcflowView.nodes.get(vpcflowView.idOf('group:web')).label") == "web"
    into_db = view.js(
        "() => vpcflowView.edges.get().filter(e => e.to === vpcflowView.idOf('10.0.2.20')"
        " && e.from === vpcflowView.idOf('group:web'))"
    )
    assert sorted((e["action"], e["count"]) for e in into_db) == [("ACCEPT", 200), ("REJECT", 2)]
    view.page.fill("#search", "10.0.1.11")
    view.page.press("#search", "Enter")
    assert view.js("() => vpcflowView.network.getSelectedNodes().map(vpcflowView.keyOf)") == ["group:web"]
    view.assert_quiet()


def test_export_png_downloads_the_canvas(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS), title="Top talkers")
    with view.page.expect_download() as download:
        view.page.click("#export")
    assert download.value.suggested_filename == "Top-talkers.png"
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    view.assert_quiet()


@pytest.mark.parametrize(
    ("last_seen", "seen"),
    [
        (1_717_203_600, "2024-06-01 00:00:00 → 01:00:00 UTC"),
        (1_717_290_000, "2024-06-01 00:00:00 → 2024-06-02 01:00:00 UTC"),
    ],
    ids=["one day", "two days"],
)
def test_the_header_shows_title_parameters_and_time_window(
    open_view: Callable[..., OpenedView], last_seen: int, seen: str
) -> None:
    view = open_view(graph_from_rows([*ROWS, flow("10.0.9.9", "10.0.2.20", "ACCEPT", 1, last_seen=last_seen)]))
    assert (view.page.inner_text("h1"), view.page.inner_text("#subtitle")) == ("Test view", "test")
    chips = view.page.locator("#meta .chip").all_inner_texts()
    assert [" ".join(c.split()) for c in chips] == ["k 10", f"seen {seen}", "result 8 nodes · 9 edges"]
    view.assert_quiet()


def test_the_progress_bar_is_full_once_the_layout_freezes(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    widths = view.js("() => ['#progress-bar', '.progress'].map(s => document.querySelector(s).offsetWidth)")
    assert widths[0] == widths[1] > 0
    assert view.page.inner_text("#layout-status").startswith("Layout frozen after")
    view.assert_quiet()


def legend(view: OpenedView) -> list[str]:
    return [" ".join(item.split()) for item in view.page.locator("#legend li").all_inner_texts()]


def test_nodes_are_sized_by_traffic_and_coloured_by_scope_or_group(open_view: Callable[..., OpenedView]) -> None:
    graph = graph_from_rows(ROWS)
    view = open_view(graph)
    sizes = view.js("() => Object.fromEntries(vpcflowView.nodes.get().map(n => [n.key, n.size]))")
    by_traffic = [sizes[n["id"]] for n in sorted(graph.nodes, key=lambda n: n["traffic"])]
    assert by_traffic == sorted(by_traffic) and (by_traffic[0], by_traffic[-1]) == (7, 30)
    # Two of seven nodes have a group: too few to colour by.
    assert view.page.input_value("#colour-by") == "scope"
    assert legend(view) == ["vpc 1", "public 1", "aws-service 1", "unknown 4"]
    assert view.js("() => vpcflowView.nodes.get(vpcflowView.idOf('203.0.113.9')).color.background") == "#ea580c"
    view.page.select_option("#colour-by", "group")
    assert legend(view) == ["web 2", "no group 5"]
    view.assert_quiet()


def test_a_mostly_grouped_view_is_coloured_by_group(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows([flow("10.0.1.10", "10.0.2.20", "ACCEPT", 5, src_group="web", dst_group="db")]))
    assert view.page.input_value("#colour-by") == "group"
    assert legend(view) == ["web 1", "db 1"]
    view.assert_quiet()


def test_parallel_edges_fan_out_within_bounds_and_a_small_view_fills_the_canvas(
    open_view: Callable[..., OpenedView],
) -> None:
    scan = [flow("192.0.2.1", "10.0.0.10", "REJECT", 1, port) for port in range(20, 40)]
    view = open_view(graph_from_rows([*scan, flow("10.0.0.10", "192.0.2.1", "ACCEPT", 1)]))
    bends = view.js("() => vpcflowView.edges.get().map(e => [vpcflowView.keyOf(e.from), e.smooth.roundness])")
    fan = sorted(r for src, r in bends if src == "192.0.2.1")
    assert len(set(fan)) == 20 and (fan[0], fan[-1]) == pytest.approx((0.1, 0.6))
    assert [r for src, r in bends if src == "10.0.0.10"] == [0.15]
    assert view.js("() => vpcflowView.network.getScale()") == pytest.approx(1.25)
    view.assert_quiet()


PROTOTYPE_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "__defineGetter__"]


def test_nodes_named_like_object_members_lay_out_and_show_their_names(open_view: Callable[..., OpenedView]) -> None:
    """vis-network keeps nodes in plain objects keyed by id: an id such as "constructor" found Object's
    own member there and its physics recursed until the stack ran out, so the layout never froze."""
    names = PROTOTYPE_NAMES
    rows = [flow(a, b, "ACCEPT", 5 + i) for i, (a, b) in enumerate(zip(names, names[1:] + names[:1], strict=True))]
    rows += [flow(f"10.0.0.{i}", "10.0.9.9", "REJECT", 1, src_name=name) for i, name in enumerate(names)]
    view = open_view(graph_from_rows(rows))
    labels = view.js("() => vpcflowView.nodes.get().map(n => n.label)")
    assert sorted(labels) == sorted([*names, *names, "10.0.9.9"])
    keys = view.js("() => vpcflowView.nodes.get().map(n => n.key)")
    assert sorted(keys) == sorted([*names, *(f"10.0.0.{i}" for i in range(len(names))), "10.0.9.9"])
    drawn = view.js("() => vpcflowView.edges.get().map(e => [vpcflowView.keyOf(e.from), vpcflowView.keyOf(e.to)])")
    assert sorted(map(tuple, drawn)) == sorted((r["src"], r["dst"]) for r in rows)
    view.page.fill("#search", "__proto__")
    view.page.press("#search", "Enter")
    selected = view.js("() => vpcflowView.network.getSelectedNodes().map(vpcflowView.keyOf)")
    assert selected == ["__proto__"]
    assert "constructor" in hover_node(view, "constructor")
    view.assert_quiet()
