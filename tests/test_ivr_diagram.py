"""`helpline flows diagram`: a flow drawn as SVG that is complete, tidy, safe and stable."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from helpline.ivr.diagram import render_svg
from helpline.ivr.loader import load_catalog
from helpline.ivr.model import Choice, Flow, GlobalKeys, InputSpec, Node

NS = "{http://www.w3.org/2000/svg}"
FLOWS = Path(__file__).resolve().parent.parent / "ivr_flows"

Rect = tuple[float, float, float, float]


def _tiny_flow(title: str = "Tiny line", prompt: str = "welcome") -> Flow:
    """A start, a menu with two keys to one queue, a hangup, and an unreached emergency."""
    menu_input = InputSpec(timeout=5, retries=2, on_timeout="hello", on_invalid="bye")
    nodes = [
        Node(id="hello", type="say", line=1, prompts=(prompt,), next="menu"),
        Node(
            id="menu",
            type="menu",
            line=2,
            prompts=("topic_menu",),
            input=menu_input,
            choices={"1": Choice(goto="hand_off"), "2": Choice(goto="hand_off")},
        ),
        Node(id="hand_off", type="queue", line=3, busy="bye"),
        Node(id="bye", type="hangup", line=4, prompts=("goodbye",)),
        Node(id="duty", type="dial", line=5, number="duty_line", on_failure="bye"),
    ]
    return Flow(
        id="tiny",
        version="abc123",
        title=title,
        start="hello",
        languages=("en",),
        default_language="en",
        global_keys=GlobalKeys(emergency="9", repeat="*", back="0", change_language="#"),
        emergency_node="duty",
        language_node="menu",
        nodes={node.id: node for node in nodes},
    )


def _default_flow() -> Flow:
    """The default flow from ivr_flows/ (prompt and audio problems do not matter here)."""
    catalog, _ = load_catalog(FLOWS)
    return catalog.flows["default"]


def _parse(svg: str) -> ET.Element:
    """Parse our own SVG output."""
    return ET.fromstring(svg)


def _texts(root: ET.Element) -> list[str]:
    """Return the content of every text element."""
    return ["".join(element.itertext()) for element in root.iter(f"{NS}text")]


def _label_parts(root: ET.Element) -> set[str]:
    """Return every single edge label shown, splitting merged and wrapped labels."""
    parts: set[str] = set()
    for group in root.iter(f"{NS}g"):
        if group.get("class") == "edge-label":
            joined = " ".join("".join(text.itertext()) for text in group.iter(f"{NS}text"))
            parts.update(part.strip() for part in joined.split(","))
    return parts


def _node_rects(root: ET.Element) -> list[Rect]:
    """Return x, y, width and height of every node's rectangle."""
    rects: list[Rect] = []
    for rect in root.iter(f"{NS}rect"):
        if rect.get("class") == "node":
            x, y, w, h = (float(rect.get(name, "nan")) for name in ("x", "y", "width", "height"))
            rects.append((x, y, w, h))
    return rects


def _overlap(a: Rect, b: Rect) -> bool:
    """Say whether two rectangles share any area."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _node_y(root: ET.Element) -> dict[str, float]:
    """Map each node id to the top of its rectangle."""
    out: dict[str, float] = {}
    for group in root.iter(f"{NS}g"):
        rect = group.find(f"{NS}rect")
        texts = group.findall(f"{NS}text")
        if rect is not None and rect.get("class") == "node" and texts:
            out["".join(texts[0].itertext())] = float(rect.get("y", "nan"))
    return out


@pytest.mark.parametrize("make_flow", [_tiny_flow, _default_flow], ids=["tiny", "default"])
def test_diagram_is_svg_showing_every_node_and_edge_label(make_flow: Callable[[], Flow]) -> None:
    """The output parses as SVG, with every node id and every edge label in its text."""
    flow = make_flow()
    root = _parse(render_svg(flow))
    assert root.tag == f"{NS}svg"
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    assert width > 0
    assert height > 0
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    texts = _texts(root)
    for node_id in flow.nodes:
        assert node_id in texts
    labels = _label_parts(root)
    for node in flow.nodes.values():
        for label in node.targets():
            assert label in labels, (node.id, label)


@pytest.mark.parametrize("make_flow", [_tiny_flow, _default_flow], ids=["tiny", "default"])
def test_node_rectangles_do_not_overlap_and_fit_the_canvas(make_flow: Callable[[], Flow]) -> None:
    """No two nodes overlap, and all of them are inside the drawing."""
    root = _parse(render_svg(make_flow()))
    rects = _node_rects(root)
    assert len(rects) == len(make_flow().nodes)
    for a, b in itertools.combinations(rects, 2):
        assert not _overlap(a, b), (a, b)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    for x, y, w, h in rects:
        assert x >= 0
        assert x + w <= width
        assert y >= 0
        assert y + h <= height


def test_rendering_is_deterministic() -> None:
    """The same flow gives byte-identical output, also when loaded afresh."""
    first = render_svg(_default_flow())
    assert render_svg(_default_flow()) == first
    assert render_svg(_tiny_flow()) == render_svg(_tiny_flow())


def test_text_is_escaped() -> None:
    """Markup characters in titles and prompts are escaped, and read back unchanged."""
    title = 'Tom & Jerry <line> "quoted"'
    svg = render_svg(_tiny_flow(title=title, prompt='a<b & "c"'))
    assert "<line>" not in svg
    assert "Tom &amp; Jerry &lt;line&gt;" in svg
    root = _parse(svg)
    title_element = root.find(f"{NS}title")
    assert title_element is not None
    assert (title_element.text or "").startswith(title)
    assert 'say · a<b & "c"' in _texts(root)


def test_layers_follow_the_shortest_distance_from_the_start() -> None:
    """Nodes sit lower the further they are from the start; unreached ones go below all."""
    node_y = _node_y(_parse(render_svg(_tiny_flow())))
    assert node_y["hello"] < node_y["menu"] < node_y["hand_off"]
    assert node_y["hand_off"] == node_y["bye"]  # both one step from the menu
    assert node_y["duty"] > max(y for node_id, y in node_y.items() if node_id != "duty")


def test_default_flow_puts_the_emergency_node_below_the_rest() -> None:
    """The emergency node, reached only by its global key, is drawn below the nodes
    reached from the start."""
    flow = _default_flow()
    node_y = _node_y(_parse(render_svg(flow)))
    reached, queue = {flow.start}, [flow.start]
    while queue:
        for target in flow.node(queue.pop()).targets().values():
            if target not in reached:
                reached.add(target)
                queue.append(target)
    assert flow.emergency_node not in reached
    assert node_y[flow.emergency_node] > max(node_y[node_id] for node_id in reached)


def test_parallel_edges_share_one_arrow_and_back_edges_are_marked() -> None:
    """Keys 1 and 2 to the same node make one arrow; an edge going up is drawn as such."""
    root = _parse(render_svg(_tiny_flow()))
    titles = {}
    for group in root.iter(f"{NS}g"):
        title = group.find(f"{NS}title")
        if (group.get("class") or "").startswith("edge ") and title is not None:
            titles["".join(title.itertext())] = group.get("class")
    assert [t for t in titles if t.startswith("menu → hand_off")] == [
        "menu → hand_off: key 1, key 2"
    ]
    assert titles["menu → hello: timeout"] == "edge back"
    assert "key 1, key 2" in " ".join(_texts(root))


def test_legend_shows_title_version_types_and_global_keys() -> None:
    """The legend names the flow, its version, its node types and the global keys."""
    flow = _default_flow()
    text = "\n".join(_texts(_parse(render_svg(flow))))
    assert flow.title in text
    assert flow.version in text
    for node_type in {node.type for node in flow.nodes.values()}:
        assert node_type in text
    assert f"emergency → {flow.emergency_node}" in text
    assert f"change language → {flow.language_node}" in text


def test_long_prompts_are_cut_short_but_kept_in_the_tooltip() -> None:
    """A long prompt list ends in an ellipsis on the node; the tooltip has it all."""
    prompt = "a_really_long_prompt_key_that_cannot_possibly_fit_on_one_line_of_a_node"
    root = _parse(render_svg(_tiny_flow(prompt=prompt)))
    assert any(text.startswith("say · a_really") and text.endswith("…") for text in _texts(root))
    titles = ["".join(title.itertext()) for title in root.iter(f"{NS}title")]
    assert f"hello (say): {prompt}" in titles


def test_svg_is_self_contained_for_a_strict_content_security_policy() -> None:
    """No scripts, styles, event handlers or outside links; references stay in the file."""
    svg = render_svg(_default_flow())
    root = _parse(svg)
    names = {element.tag.removeprefix(NS) for element in root.iter()}
    assert not names & {"script", "style", "a", "image", "use", "foreignObject"}
    for element in root.iter():
        for name in element.attrib:
            assert name != "style"
            assert not name.startswith("on")
            assert "href" not in name
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    for reference in re.findall(r"url\(([^)]*)\)", svg):
        assert reference.startswith("#")
        assert reference[1:] in ids
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_flows_diagram_command_writes_svg(tmp_path: Path) -> None:
    """`helpline flows diagram` draws the default flow, or says which flows exist."""
    from click.testing import CliRunner

    from helpline.cli import main

    target = tmp_path / "flow.svg"
    result = CliRunner().invoke(main, ["flows", "diagram", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert ET.fromstring(target.read_text(encoding="utf-8")).tag.endswith("svg")
    missing = CliRunner().invoke(main, ["flows", "diagram", "nope"])
    assert missing.exit_code == 1
    assert "no flow 'nope' (flows: default)" in missing.output
