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
from playwright.sync_api import TimeoutError as PlaywrightTimeout

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

    def open_(graph: ViewGraph, title: str = "Test view", fold: str | None = None) -> OpenedView:
        path = tmp_path / f"view{len(opened)}.html"
        page = render_html(graph, title=title, params={"k": 10}, subtitle="test", fold=fold)
        path.write_text(page, encoding="utf-8")
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
    assert sorted(map(tuple, drawn)) == sorted(lines(graph.edges))
    assert view.js("() => vpcflowView.readyMs") > 0
    view.assert_quiet()


def lines(edges: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    """One line per (source, destination): REJECT when all its edges are, mixed when some are."""
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in edges:
        pairs.setdefault((e["src"], e["dst"]), []).append(e)
    found = []
    for (src, dst), members in pairs.items():
        rejects = sum(e["action"] == "REJECT" for e in members)
        action = "REJECT" if rejects == len(members) else "mixed" if rejects else "ACCEPT"
        found.append((src, dst, action, sum(e["count"] for e in members)))
    return found


def test_the_page_opens_laid_out_and_physics_runs_only_when_asked(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    drawn = view.js("() => vpcflowView.network.getPositions()")
    given = view.js("() => Object.fromEntries(vpcflowView.nodes.get().map(n => [n.id, {x: n.x, y: n.y}]))")
    assert drawn == given and len({(p["x"], p["y"]) for p in drawn.values()}) == len(given)  # the data's, apart
    view.page.wait_for_timeout(300)
    assert view.js("() => vpcflowView.network.getPositions()") == drawn
    assert view.page.inner_text("#layout-status").startswith("Laid out when the view was written")
    view.page.click("#resume")
    assert view.page.inner_text("#resume") == "Freeze layout"
    view.page.wait_for_timeout(500)
    assert view.js("() => vpcflowView.network.getPositions()") != drawn  # vis-network's physics, from there
    view.assert_quiet()


def test_unchecking_reject_hides_reject_edges(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    assert len(view.visible_edges()) == len(lines(ROWS))
    view.page.uncheck("#show-reject")
    visible = view.visible_edges()
    assert {e["action"] for e in visible} == {"ACCEPT"}
    accepted = [r for r in ROWS if r["action"] == "ACCEPT"]
    assert sorted((e["from"], e["to"], e["count"]) for e in visible) == sorted(
        (s, d, n) for s, d, _, n in lines(accepted)
    )
    # The network itself no longer knows the edges into the bastion, all of them REJECT.
    assert view.js("() => vpcflowView.network.getConnectedEdges(vpcflowView.idOf('10.0.3.5')).length") == 1
    view.page.check("#show-reject")
    assert len(view.visible_edges()) == len(lines(ROWS))
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
    tooltip = view.js("() => vpcflowView.tipText('node', vpcflowView.idOf('198.51.100.66'))")
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
    tooltip = view.page.locator("div.vis-tooltip")
    for attempt in range(4):  # the pointer can land on a line's end drawn over the node: come in again
        view.page.mouse.move(x + 60, y + 60)
        view.page.wait_for_timeout(50)
        view.page.mouse.move(x, y + attempt, steps=3)
        try:
            tooltip.wait_for(state="visible", timeout=1_500)
        except PlaywrightTimeout:
            continue
        text = tooltip.inner_text().replace("\t", "").replace("\n", "")
        if "→" not in text.split("Address")[0]:
            return text
    raise AssertionError(f"no tooltip for {node_id}")


def test_line_tooltips_list_each_port_protocol_and_action(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    texts = view.js("() => vpcflowView.edges.get().map(e => vpcflowView.tipText('edge', e.id))")
    assert "web-1 → db-primaryTCP/5432 ACCEPT120 records, 60.0 kB (60,000)" in texts
    # One line for web-2's two edges into the database: both listed, the busier first.
    assert (
        "web-2 → db-primaryTCP/5432 ACCEPT80 records, 40.0 kB (40,000)TCP/22 REJECT2 records, 1.0 kB (1,000)" in texts
    )
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
    assert [(e["action"], e["count"], e["merged"]) for e in into_db] == [("mixed", 202, 2)]
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


def test_clicking_a_line_lists_what_it_carries(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows(ROWS))
    x, y = view.js(
        """() => {
          const network = vpcflowView.network, box = document.querySelector('#graph canvas').getBoundingClientRect();
          const line = vpcflowView.edges.get().find(e => vpcflowView.keyOf(e.from) === '10.0.1.11' && e.merged === 2);
          const xs = Object.values(network.getPositions()).map(p => p.x);
          network.moveNode(line.from, Math.max(...xs) + 400, 0);
          network.moveNode(line.to, Math.max(...xs) + 800, 0);
          network.moveTo({position: {x: Math.max(...xs) + 600, y: 0}, scale: 1});
          const at = network.canvasToDOM({x: Math.max(...xs) + 600, y: 0});
          return [box.left + at.x, box.top + at.y];
        }"""
    )
    view.page.mouse.click(x, y)
    assert " ".join(view.page.inner_text("#selection").split()) == (
        "web-2 → db-primary TCP/5432 ACCEPT 80 records, 40.0 kB (40,000) TCP/22 REJECT 2 records, 1.0 kB (1,000)"
    )
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
    assert (
        view.js("() => vpcflowView.network.body.nodes[vpcflowView.idOf('203.0.113.9')].options.color.background")
        == "#ea580c"
    )
    view.page.select_option("#colour-by", "group")
    assert legend(view) == ["web 2", "no group 5"]
    view.assert_quiet()


def test_a_mostly_grouped_view_is_coloured_by_group(open_view: Callable[..., OpenedView]) -> None:
    view = open_view(graph_from_rows([flow("10.0.1.10", "10.0.2.20", "ACCEPT", 5, src_group="web", dst_group="db")]))
    assert view.page.input_value("#colour-by") == "group"
    assert legend(view) == ["web 1", "db 1"]
    view.assert_quiet()


def test_parallel_edges_are_one_line_per_direction_and_a_small_view_fills_the_canvas(
    open_view: Callable[..., OpenedView],
) -> None:
    scan = [flow("192.0.2.1", "10.0.0.10", "REJECT", 1, port) for port in range(20, 40)]
    view = open_view(graph_from_rows([*scan, flow("10.0.0.10", "192.0.2.1", "ACCEPT", 1)]))
    drawn = view.js(
        "() => vpcflowView.edges.get().map(e => [vpcflowView.keyOf(e.from), e.action, e.merged, e.dashes, e.count,"
        " vpcflowView.tipText('edge', e.id)])"
    )
    assert sorted((src, action, merged, dashes, count) for src, action, merged, dashes, count, _ in drawn) == [
        ("10.0.0.10", "ACCEPT", 1, False, 1),
        ("192.0.2.1", "REJECT", 20, True, 20),  # a scan of twenty ports: one dashed red line
    ]
    scan_tip = next(text for src, *_, text in drawn if src == "192.0.2.1")
    assert "TCP/20 REJECT1 records" in scan_tip and scan_tip.endswith("…and 8 more")  # twelve listed
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
    assert sorted(map(tuple, drawn)) == sorted({(r["src"], r["dst"]) for r in rows})
    view.page.fill("#search", "__proto__")
    view.page.press("#search", "Enter")
    selected = view.js("() => vpcflowView.network.getSelectedNodes().map(vpcflowView.keyOf)")
    assert selected == ["__proto__"]
    assert "constructor" in hover_node(view, "constructor")
    view.assert_quiet()


def test_folded_addresses_unfold_with_a_click(open_view: Callable[..., OpenedView]) -> None:
    clients = [flow(f"203.0.113.{n}", "10.0.0.10", "ACCEPT", n, dst_name="load-balancer", src_scope="public")
               for n in range(1, 31)]  # fmt: skip
    view = open_view(graph_from_rows([*clients, flow("198.51.100.7", "10.0.0.10", "REJECT", 3, src_scope="public")]),
                     fold="public")  # fmt: skip
    drawn = view.js("() => vpcflowView.nodes.get().map(n => [n.key, n.label, n.folded || false])")
    assert sorted(map(tuple, drawn)) == [("10.0.0.10", "load-balancer", False),
                                         ("198.51.100.0/24", "198.51.100.0/24 (1)", True),
                                         ("203.0.113.0/24", "203.0.113.0/24 (30)", True)]  # fmt: skip
    folded = view.js("() => vpcflowView.edges.get().map(e => [e.merged, e.count, e.action])")
    assert sorted(map(tuple, folded)) == [(1, 3, "REJECT"), (30, sum(range(1, 31)), "ACCEPT")]
    x, y = view.js(
        """() => {
          const network = vpcflowView.network, box = document.querySelector('#graph canvas').getBoundingClientRect();
          const id = vpcflowView.nodes.get().find(n => n.key === '203.0.113.0/24').id;
          network.moveTo({position: network.getPosition(id), scale: 1});
          const at = network.canvasToDOM(network.getPosition(id));
          return [box.left + at.x, box.top + at.y];
        }"""
    )
    view.page.mouse.click(x, y)
    keys = set(view.js("() => vpcflowView.nodes.get().map(n => n.key)"))
    assert keys == {"10.0.0.10", "198.51.100.0/24", *(f"203.0.113.{n}" for n in range(1, 31))}
    assert len(view.visible_edges()) == 31
    # The unfolded addresses stand where the layout put them.
    drawn = view.js("() => vpcflowView.network.getPositions()")
    assert all(drawn[str(n["id"])] == {"x": n["x"], "y": n["y"]} for n in view.js("() => vpcflowView.nodes.get()"))
    view.page.select_option("#fold-by", "none")
    assert len(view.js("() => vpcflowView.nodes.getIds()")) == 32
    view.assert_quiet()


def test_a_large_view_opens_folded_and_says_so(open_view: Callable[..., OpenedView]) -> None:
    rows = [flow(f"198.51.{n // 250}.{n % 250}", "10.0.0.10", "ACCEPT", 1, src_scope="public") for n in range(1_200)]
    view = open_view(graph_from_rows(rows))
    chips = [" ".join(c.split()) for c in view.page.locator("#meta .chip").all_inner_texts()]
    assert "folded public unnamed addresses by /24 or /64: 1,201 nodes is more than 1,000; click one to unfold" in chips
    assert view.js("() => vpcflowView.nodes.length") == 1 + 1_200 // 250 + 1  # one per /24
    assert view.page.input_value("#fold-by") == "public"
    view.assert_quiet()


def test_a_pseudonym_never_reads_as_a_real_address(open_view: Callable[..., OpenedView]) -> None:
    rows = [flow("97.68.175.5", "10.0.2.20", "ACCEPT", 4, src_pseudonymized=True, dst_name="db-primary")]
    view = open_view(graph_from_rows(rows))
    assert view.js("() => vpcflowView.nodes.get(vpcflowView.idOf('97.68.175.5')).label") == "~97.68.175.5"
    assert "Pseudonymizedyes: ~ marks it, not a real address" in hover_node(view, "97.68.175.5")
    assert legend(view)[-1].startswith("~97.68.175.5: a pseudonym, not a real address")
    view.assert_quiet()


def test_a_big_view_draws_its_busiest_lines_first_then_the_rest(open_view: Callable[..., OpenedView]) -> None:
    hosts = [f"10.0.0.{n}" for n in range(1, 101)]
    rows = [
        flow(a, b, "ACCEPT", 1 + (i * 7919) % 5000)
        for i, (a, b) in enumerate((a, b) for a in hosts for b in hosts if a != b)
    ]
    rows = rows[:4_500]
    view = open_view(graph_from_rows(rows))
    view.page.wait_for_function("() => vpcflowView.linesMs !== null")
    assert view.js("() => vpcflowView.edges.length") == 4_500
    counts = sorted((r["count"] for r in rows), reverse=True)
    first = view.js("() => vpcflowView.edges.getIds().slice(0, 4000).map(id => vpcflowView.edges.get(id).count)")
    assert sorted(first, reverse=True) == counts[:4_000]  # the busiest went in first
    view.assert_quiet()
