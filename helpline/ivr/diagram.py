"""Draw a flow as a standalone SVG diagram, in layers from top to bottom.

Pure Python, for flow authors and trainers. A node's layer is its shortest distance from
the start; nodes the start cannot reach (such as the emergency node) go below the others.
Edges going down run from a node's bottom to the next one's top; edges going back up leave
and enter nodes from the side. Parallel edges share one arrow and one label.

The SVG uses presentation attributes only: no <style>, script or link, so it shows under a
strict `default-src 'self'` Content Security Policy as well as opened as a file.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

from helpline.ivr.model import INPUT_TYPES, NODE_TYPES, TERMINAL_TYPES, Flow

FONT = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
    "'Noto Sans', 'Liberation Sans', 'DejaVu Sans', sans-serif"
)
# Fill and border colour of each node type.
COLOURS: Mapping[str, tuple[str, str]] = {
    "say": ("#e3f2fd", "#1e6fbf"),
    "set": ("#eceff1", "#607d8b"),
    "schedule": ("#ede7f6", "#5e35b1"),
    "language_menu": ("#e0f2f1", "#00796b"),
    "menu": ("#fff8e1", "#b7860b"),
    "consent": ("#fce4ec", "#c2185b"),
    "queue": ("#e8f5e9", "#2e7d32"),
    "callback_request": ("#fff3e0", "#e65100"),
    "voicemail": ("#e8eaf6", "#3949ab"),
    "dial": ("#ffebee", "#c62828"),
    "hangup": ("#f5f5f5", "#424242"),
}
UNKNOWN_COLOUR = ("#ffffff", "#000000")
EDGE_COLOUR = "#455a64"
BACK_COLOUR = "#8e24aa"
TEXT_COLOUR = "#212121"
MUTED_COLOUR = "#546e7a"
KEY_COLOUR = "#c62828"

NODE_HEIGHT = 48.0
MIN_NODE_WIDTH = 170.0
MAX_DETAIL_WIDTH = 210.0
DUMMY_WIDTH = 16.0
NODE_GAP = 44.0
DUMMY_GAP = 18.0
SELF_LOOP_GAP = 40.0
MIN_LAYER_GAP = 76.0
MARGIN = 28.0
START_SPACE = 44.0
LEGEND_WIDTH = 300.0
ID_SIZE = 13.0
DETAIL_SIZE = 11.0
LEGEND_SIZE = 11.5
LABEL_SIZE = 10.5
LABEL_LINE = 13.0
LABEL_WRAP = 118.0
SWEEPS = 12
PLACEMENT_ROUNDS = 40
GLUE_WEIGHT = 20
# Where along an edge to try its label, by kind of edge, best first.
LABEL_SPOTS: Mapping[str, tuple[float, ...]] = {
    "down": (0.5, 0.38, 0.62, 0.3, 0.7, 0.44, 0.56, 0.22, 0.78),
    "back": (0.12, 0.18, 0.06, 0.24, 0.32, 0.4, 0.5, 0.6, 0.7, 0.8),
    "side": (0.5,),
    "self": (0.5,),
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Point = tuple[float, float]
Cubic = tuple[Point, Point, Point, Point]
Attrs = Mapping[str, str | float]


# ---------------------------------------------------------------------------- text


def _clean(text: str) -> str:
    """Replace the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("\ufffd", text)


def _char_width(char: str) -> float:
    """Estimate a character's advance in em for a common sans-serif font."""
    if char in "iljI'|.,:;!":
        return 0.28
    if char in "frt()[]- ":
        return 0.36
    if char in "mwMW@%":
        return 0.88
    if char.isupper() or char in "&_#":
        return 0.7
    if ord(char) > 0x2E80:
        return 1.0
    return 0.58


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimate the width of a line of text, erring on the wide side."""
    return sum(_char_width(char) for char in text) * size * (1.1 if bold else 1.04)


def _truncate(text: str, size: float, limit: float) -> str:
    """Shorten text with an ellipsis so that it fits within limit."""
    if _text_width(text, size) <= limit:
        return text
    while text and _text_width(text + "…", size) > limit:
        text = text[:-1]
    return text.rstrip(" ,·") + "…"


def _wrap_parts(parts: Sequence[str], size: float, limit: float) -> list[str]:
    """Join parts with commas, breaking lines only between parts."""
    lines: list[str] = []
    for part in parts:
        if lines and _text_width(f"{lines[-1]}, {part}", size) <= limit:
            lines[-1] = f"{lines[-1]}, {part}"
        elif lines:
            lines[-1] += ","
            lines.append(part)
        else:
            lines.append(part)
    return lines


def _wrap_words(text: str, size: float, limit: float) -> list[str]:
    """Break bold text into lines at spaces so that each fits within limit."""
    lines: list[str] = []
    for word in text.split() or [""]:
        if lines and _text_width(f"{lines[-1]} {word}", size, bold=True) <= limit:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(_truncate(word, size * 1.06, limit))
    return lines


def _node_detail(node_type: str, prompts: Sequence[str]) -> str:
    """Return a node's second line: its type and prompts."""
    return f"{node_type} · {', '.join(prompts)}" if prompts else node_type


# ---------------------------------------------------------------------------- graph


@dataclasses.dataclass(frozen=True)
class _Edge:
    """An arrow between two nodes, carrying the labels of all the edges it merges."""

    source: str
    target: str
    labels: tuple[str, ...]


def _merged_edges(flow: Flow) -> list[_Edge]:
    """Return one edge per pair of nodes, with the labels of all edges between them."""
    labels: dict[tuple[str, str], list[str]] = {}
    for node in flow.nodes.values():
        for label, target in node.targets().items():
            if target in flow.nodes:
                labels.setdefault((node.id, target), []).append(label)
    return [_Edge(source, target, _keys_first(names)) for (source, target), names in labels.items()]


def _keys_first(labels: Sequence[str]) -> tuple[str, ...]:
    """Put key labels before the others (timeout, invalid...), keeping their order."""
    return tuple(sorted(labels, key=lambda label: not label.startswith("key ")))


def _bfs(seed: str, layer: int, successors: Mapping[str, list[str]], found: dict[str, int]) -> None:
    """Layer every node reachable from seed and not yet layered by its distance from it."""
    found[seed] = layer
    queue = deque([seed])
    while queue:
        current = queue.popleft()
        for target in successors[current]:
            if target not in found:
                found[target] = found[current] + 1
                queue.append(target)


def _layers(flow: Flow, edges: Sequence[_Edge]) -> dict[str, int]:
    """Layer nodes by shortest distance from the start, then the unreached ones below."""
    successors: dict[str, list[str]] = {node_id: [] for node_id in flow.nodes}
    for edge in edges:
        successors[edge.source].append(edge.target)
    found: dict[str, int] = {}
    if flow.start in flow.nodes:
        _bfs(flow.start, 0, successors, found)
    entered = {edge.target for edge in edges if edge.source != edge.target}
    while len(found) < len(flow.nodes):
        rest = [node_id for node_id in flow.nodes if node_id not in found]
        roots = [node_id for node_id in rest if node_id not in entered]
        _bfs((roots or rest)[0], max(found.values(), default=-1) + 1, successors, found)
    return found


# ---------------------------------------------------------------------------- layout


@dataclasses.dataclass
class _Item:
    """A slot in a layer: a node, or a placeholder that an edge runs through."""

    key: int
    layer: int
    width: float
    node: str | None
    x: float = 0.0


@dataclasses.dataclass(frozen=True)
class _Box:
    """A rectangle by its top-left corner and size."""

    x: float
    y: float
    w: float
    h: float

    def overlap(self, other: _Box) -> float:
        """Return the area this box shares with another."""
        dx = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        dy = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return dx * dy if dx > 0 and dy > 0 else 0.0


class _Layout:
    """Place a flow's nodes: layers, order within each layer, then coordinates."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.edges = _merged_edges(flow)
        self.layer_of = _layers(flow, self.edges)
        self.node_width = self._node_width()
        self.items: list[_Item] = []
        self.item_of: dict[str, int] = {}
        self.chains: dict[_Edge, list[int]] = {}
        self.links: list[tuple[int, int]] = []  # slots joined across two adjacent layers
        # Slots of one layer that belong side by side: nodes joined by an edge, and an edge
        # going up with the placeholders it leaves and enters nodes from (glued to them).
        self.pairs: list[tuple[int, int]] = []
        self.glue: dict[int, int] = {}
        self.side_edges = [e for e in self.edges if self.span(e) == 0 and e.source != e.target]
        self.looped = {e.source for e in self.edges if e.source == e.target}
        self._build_items()
        self.pairs_of: dict[int, list[tuple[int, int]]] = {item.key: [] for item in self.items}
        for pair in self.pairs:
            self.pairs_of[pair[0]].append(pair)
            self.pairs_of[pair[1]].append(pair)
        self.order = self._initial_order()
        self.links_between = self._links_between()
        self.neighbours = self._neighbours()
        self._minimise_crossings()
        self.separation = self._separations()
        self._place_x()
        self.layer_y = self._layer_y()

    # -- slots

    def _node_width(self) -> float:
        """Return one width for all nodes: the longest bold id, and details up to a limit."""
        nodes = self.flow.nodes.values()
        ids = max((_text_width(node.id, ID_SIZE, bold=True) for node in nodes), default=0)
        details = (_text_width(_node_detail(n.type, n.prompts), DETAIL_SIZE) for n in nodes)
        return max(MIN_NODE_WIDTH, ids + 28, min(max(details, default=0), MAX_DETAIL_WIDTH) + 24)

    def span(self, edge: _Edge) -> int:
        """Return how many layers an edge goes down (negative: up)."""
        return self.layer_of[edge.target] - self.layer_of[edge.source]

    def label_lines(self, edge: _Edge) -> list[str]:
        """Wrap an edge's labels into short lines."""
        return _wrap_parts(edge.labels, LABEL_SIZE, LABEL_WRAP)

    def _new_item(self, layer: int, width: float, node: str | None) -> int:
        """Add a slot to a layer and return its key."""
        self.items.append(_Item(len(self.items), layer, width, node))
        return len(self.items) - 1

    def _build_items(self) -> None:
        """Create a slot per node, and placeholders for the edges to run through."""
        for node_id in sorted(self.flow.nodes, key=lambda node_id: self.layer_of[node_id]):
            layer = self.layer_of[node_id]
            self.item_of[node_id] = self._new_item(layer, self.node_width, node_id)
        for edge in self.edges:
            if self.span(edge) > 0:
                self._chain_down(edge)
            elif self.span(edge) < 0:
                self._chain_back(edge)
        for edge in self.side_edges:
            self.pairs.append((self.item_of[edge.source], self.item_of[edge.target]))

    def _chain_down(self, edge: _Edge) -> None:
        """Give an edge going down a placeholder in each layer it skips."""
        top, bottom = self.layer_of[edge.source], self.layer_of[edge.target]
        dummies = [self._new_item(layer, DUMMY_WIDTH, None) for layer in range(top + 1, bottom)]
        chain = [self.item_of[edge.source], *dummies, self.item_of[edge.target]]
        self.chains[edge] = chain
        self.links.extend(itertools.pairwise(chain))

    def _chain_back(self, edge: _Edge) -> None:
        """Give an edge going up a placeholder in each layer from its source to its target.

        The end placeholders sit beside the two nodes: the edge leaves and enters them from
        the side, apart from the edges going down.
        """
        bottom, top = self.layer_of[edge.source], self.layer_of[edge.target]
        dummies = [self._new_item(layer, DUMMY_WIDTH, None) for layer in range(bottom, top - 1, -1)]
        source, target = self.item_of[edge.source], self.item_of[edge.target]
        self.chains[edge] = [source, *dummies, target]
        self.links.extend(itertools.pairwise(dummies))
        self.pairs.extend([(source, dummies[0]), (dummies[-1], target)])
        self.glue.update({dummies[0]: source, dummies[-1]: target})

    def _initial_order(self) -> list[list[int]]:
        """Order each layer's slots as created: breadth first from the start."""
        order: list[list[int]] = [[] for _ in range(max(self.layer_of.values(), default=0) + 1)]
        for item in self.items:
            order[item.layer].append(item.key)
        return order

    def _links_between(self) -> list[list[tuple[int, int]]]:
        """Group links by the upper of the two layers they join, upper slot first."""
        between: list[list[tuple[int, int]]] = [[] for _ in self.order]
        for a, b in self.links:
            upper, lower = (a, b) if self.items[a].layer < self.items[b].layer else (b, a)
            between[self.items[upper].layer].append((upper, lower))
        return between

    def _neighbours(self) -> dict[int, list[int]]:
        """Map each slot to the slots it is linked to in the layers next to it."""
        out: dict[int, list[int]] = {item.key: [] for item in self.items}
        for a, b in self.links:
            out[a].append(b)
            out[b].append(a)
        return out

    # -- order within layers

    def _positions(self) -> dict[int, int]:
        """Map each slot to its index within its layer."""
        return {key: index for layer in self.order for index, key in enumerate(layer)}

    def _crossings(self, layer: int, pos: Mapping[int, int]) -> int:
        """Count the links that cross between a layer and the next."""
        if not 0 <= layer < len(self.links_between):
            return 0
        links = [(pos[a], pos[b]) for a, b in self.links_between[layer]]
        return sum(
            1
            for index, (a1, b1) in enumerate(links)
            for a2, b2 in links[index + 1 :]
            if (a1 - a2) * (b1 - b2) < 0
        )

    def _apart(self, pairs: Iterable[tuple[int, int]], pos: Mapping[int, int]) -> int:
        """Weigh the nodes standing between slots that belong side by side.

        Placeholders in between do not count: an edge may cross their vertical runs.
        """
        total = 0
        for a, b in pairs:
            low, high = sorted((pos[a], pos[b]))
            between = self.order[self.items[a].layer][low + 1 : high]
            nodes = sum(self.items[key].node is not None for key in between)
            total += nodes * (GLUE_WEIGHT if a in self.glue or b in self.glue else 2)
        return total

    def _cost(self) -> int:
        """Return the cost of the whole ordering."""
        pos = self._positions()
        return sum(self._crossings(layer, pos) for layer in range(len(self.order))) + self._apart(
            self.pairs, pos
        )

    def _barycentre(self, key: int, reference: Mapping[int, int], current: int) -> float:
        """Return the mean position of a slot's neighbours in a reference layer."""
        near = [reference[other] for other in self.neighbours[key] if other in reference]
        return sum(near) / len(near) if near else float(current)

    def _sweep(self, downward: bool) -> None:
        """Sort each layer by the mean position of its neighbours in the layer before."""
        count = len(self.order)
        for layer in range(1, count) if downward else range(count - 2, -1, -1):
            ref = self.order[layer - 1 if downward else layer + 1]
            reference = {key: index for index, key in enumerate(ref)}
            current = {key: index for index, key in enumerate(self.order[layer])}
            bary = {key: self._barycentre(key, reference, i) for key, i in current.items()}
            self.order[layer].sort(key=lambda key: self._sort_key(key, bary, current))

    def _sort_key(
        self, key: int, bary: Mapping[int, float], current: Mapping[int, int]
    ) -> tuple[float, int, float, int]:
        """Return a slot's sort key: its barycentre, or a glued one's node's, beside it."""
        node = self.glue.get(key)
        if node is None:
            return bary[key], 0, 0.0, current[key]
        side = -1 if current[key] < current[node] else 1
        return bary[node], side, bary[key], current[key]

    def _swap_pass(self) -> bool:
        """Swap neighbouring slots wherever that lowers the cost; say whether any moved."""
        improved = False
        pos = self._positions()
        for keys in self.order:
            for index in range(len(keys) - 1):
                if self._swap_change(keys, index, pos) < 0:
                    self._swap(keys, index, pos)
                    improved = True
        return improved

    def _swap_change(self, keys: list[int], index: int, pos: dict[int, int]) -> int:
        """Return how the cost would change if two neighbouring slots swapped places."""
        left, right = keys[index], keys[index + 1]
        change = 0
        for side in (self.items[left].layer - 1, self.items[left].layer + 1):
            ours = [pos[n] for n in self.neighbours[left] if self.items[n].layer == side]
            theirs = [pos[n] for n in self.neighbours[right] if self.items[n].layer == side]
            change += sum((p < q) - (p > q) for p in ours for q in theirs)
        pairs = {*self.pairs_of[left], *self.pairs_of[right]}
        before = self._apart(pairs, pos)
        self._swap(keys, index, pos)
        after = self._apart(pairs, pos)
        self._swap(keys, index, pos)
        return change + after - before

    @staticmethod
    def _swap(keys: list[int], index: int, pos: dict[int, int]) -> None:
        """Swap two neighbouring slots of a layer."""
        keys[index], keys[index + 1] = keys[index + 1], keys[index]
        pos[keys[index]], pos[keys[index + 1]] = index, index + 1

    def _minimise_crossings(self) -> None:
        """Run barycentre sweeps, keep the best ordering, then polish it with swaps."""
        best, best_cost = [list(layer) for layer in self.order], self._cost()
        for sweep in range(SWEEPS):
            self._sweep(downward=sweep % 2 == 0)
            cost = self._cost()
            if cost < best_cost:
                best, best_cost = [list(layer) for layer in self.order], cost
        self.order = best
        for _ in range(2 * len(self.items)):
            if not self._swap_pass():
                break

    # -- x coordinates

    def _separations(self) -> dict[tuple[int, int], float]:
        """Return the least distance between the centres of slots that end up adjacent."""
        wanted = [*itertools.chain.from_iterable(itertools.pairwise(k) for k in self.order)]
        return {pair: self._separation(*pair) for pair in [*wanted, *self.pairs]}

    def _separation(self, a: int, b: int) -> float:
        """Return the least distance between the centres of two adjacent slots."""
        left, right = self.items[a], self.items[b]
        gap = DUMMY_GAP if left.node is None or right.node is None else NODE_GAP
        if left.node in self.looped or right.node in self.looped:
            gap = max(gap, SELF_LOOP_GAP)
        for edge in self.side_edges:
            if {edge.source, edge.target} == {left.node, right.node}:
                gap = max(gap, _label_width(self.label_lines(edge)) + 34)
        return (left.width + right.width) / 2 + gap

    def _place_x(self) -> None:
        """Pack each layer, then pull slots towards their neighbours, keeping the order."""
        for keys in self.order:
            self._pack(keys, [0.0] * len(keys))
        for round_ in range(PLACEMENT_ROUNDS):
            for keys in self.order if round_ % 2 == 0 else self.order[::-1]:
                self._pack(keys, [self._desired_x(key) for key in keys])
        self.shift(MARGIN - min((item.x - item.width / 2 for item in self.items), default=0.0))

    def shift(self, dx: float) -> None:
        """Move every slot sideways."""
        for item in self.items:
            item.x += dx

    def _desired_x(self, key: int) -> float:
        """Return the weighted mean of where a slot's neighbours would like it to be."""
        pulls = self._side_pulls(key)
        for other in self.neighbours[key]:
            dummies = (self.items[key].node is None) + (self.items[other].node is None)
            pulls.append(((1.0, 3.0, 8.0)[dummies], self.items[other].x))
        total = sum(weight for weight, _ in pulls)
        if not total:
            return self.items[key].x
        return sum(weight * x for weight, x in pulls) / total

    def _side_pulls(self, key: int) -> list[tuple[float, float]]:
        """Pull a slot next to the slots it belongs beside in its layer."""
        here = self.items[key].x
        pulls: list[tuple[float, float]] = []
        for a, b in self.pairs_of[key]:
            other = self.items[b if key == a else a]
            gap = self.separation[(a, b)]
            pulls.append((2.0, other.x - gap if other.x > here else other.x + gap))
        return pulls

    def _pack(self, keys: Sequence[int], desired: Sequence[float]) -> None:
        """Place a layer's slots as near their desired x as their separations allow."""
        gaps = [self.separation[pair] for pair in itertools.pairwise(keys)]
        offsets = list(itertools.accumulate(gaps, initial=0.0))[: len(keys)]
        fitted = _isotonic([d - o for d, o in zip(desired, offsets, strict=True)])
        for key, value, offset in zip(keys, fitted, offsets, strict=True):
            self.items[key].x = value + offset

    # -- y coordinates

    def _layer_y(self) -> list[float]:
        """Return the top of each layer; each gap grows to fit the labels in it."""
        tops = [MARGIN + START_SPACE]
        for layer in range(len(self.order) - 1):
            lines = [len(self.label_lines(edge)) for edge in self._edges_below(layer)]
            gap = max(MIN_LAYER_GAP, max(lines, default=1) * LABEL_LINE + 48)
            tops.append(tops[-1] + NODE_HEIGHT + gap)
        return tops

    def _edges_below(self, layer: int) -> list[_Edge]:
        """Return the edges whose labels may sit in the gap below a layer."""
        out = []
        for edge in self.edges:
            a, b = sorted((self.layer_of[edge.source], self.layer_of[edge.target]))
            if a <= layer < b or (a == b == layer and edge in self.side_edges):
                out.append(edge)
        return out

    # -- geometry

    def x(self, key: int) -> float:
        """Return the x of a slot's centre."""
        return self.items[key].x

    def top(self, key: int) -> float:
        """Return the top of a slot's layer."""
        return self.layer_y[self.items[key].layer]

    def box(self, node_id: str) -> _Box:
        """Return a node's rectangle."""
        item = self.items[self.item_of[node_id]]
        return _Box(item.x - item.width / 2, self.top(item.key), item.width, NODE_HEIGHT)

    def adjacent(self, a: str, b: str) -> bool:
        """Say whether two nodes of one layer have no node between them."""
        keys = self.order[self.layer_of[a]]
        low, high = sorted((keys.index(self.item_of[a]), keys.index(self.item_of[b])))
        return all(self.items[key].node is None for key in keys[low + 1 : high])

    def size(self) -> tuple[float, float]:
        """Return the width and height the slots take, margins included."""
        right = max((item.x + item.width / 2 for item in self.items), default=0.0)
        bottom = self.layer_y[-1] + NODE_HEIGHT
        return right + MARGIN, bottom + MARGIN + 24


def _isotonic(values: Sequence[float]) -> list[float]:
    """Return the closest non-decreasing sequence, by pooling adjacent violators."""
    blocks: list[tuple[float, int]] = []  # (sum, count)
    for value in values:
        total, count = value, 1
        while blocks and blocks[-1][0] / blocks[-1][1] > total / count:
            previous_total, previous_count = blocks.pop()
            total, count = total + previous_total, count + previous_count
        blocks.append((total, count))
    return [total / count for total, count in blocks for _ in range(count)]


def _label_width(lines: Sequence[str]) -> float:
    """Return the width of a label's background."""
    return max((_text_width(line, LABEL_SIZE) for line in lines), default=0.0) + 10


# ---------------------------------------------------------------------------- routing


@dataclasses.dataclass
class _Route:
    """How an edge is drawn: its curve, its kind and its wrapped label."""

    edge: _Edge
    curve: list[Cubic]
    kind: str  # "down", "back", "side" or "self"
    label: list[str]


def _vertical(a: Point, b: Point) -> Cubic:
    """Return an S-curve from a to b that leaves and arrives vertically."""
    middle = (a[1] + b[1]) / 2
    return (a, (a[0], middle), (b[0], middle), b)


def _straight(a: Point, b: Point) -> Cubic:
    """Return a straight segment as a cubic."""
    return (a, a, b, b)


def _corner_up(start: Point, end: Point) -> Cubic:
    """Return a curve that leaves start horizontally and reaches end going up."""
    return (start, (end[0], start[1]), (end[0], start[1]), end)


def _corner_in(start: Point, end: Point) -> Cubic:
    """Return a curve that leaves start going up and reaches end horizontally."""
    return (start, (start[0], end[1]), (start[0], end[1]), end)


Booking = tuple[tuple[float, int], _Edge, str]


class _Router:
    """Route every edge, sharing out the places where edges meet each node."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.bookings: dict[tuple[str, str], list[Booking]] = {}
        self.port: dict[tuple[_Edge, str], Point] = {}

    def routes(self) -> list[_Route]:
        """Return a route per edge."""
        for rank, edge in enumerate(self.layout.edges):
            self._attach(edge, rank)
        for (node, side), bookings in sorted(self.bookings.items(), key=lambda item: item[0]):
            self._assign_ports(node, side, sorted(bookings, key=lambda booking: booking[0]))
        return [self._route(edge) for edge in self.layout.edges]

    def _kind(self, edge: _Edge) -> str:
        """Classify an edge as going down, back up, sideways, or to itself."""
        if edge.source == edge.target:
            return "self"
        span = self.layout.span(edge)
        return "down" if span > 0 else "back" if span < 0 else "side"

    def _book(self, node: str, side: str, order: tuple[float, int], edge: _Edge, end: str) -> None:
        """Reserve a place on one side of a node for one end of an edge."""
        self.bookings.setdefault((node, side), []).append((order, edge, end))

    def _attach(self, edge: _Edge, rank: int) -> None:
        """Book places where an edge leaves its source and enters its target."""
        kind, layout = self._kind(edge), self.layout
        chain = layout.chains.get(edge, [])
        if kind == "down":
            self._book(edge.source, "bottom", (layout.x(chain[1]), rank), edge, "source")
            self._book(edge.target, "top", (layout.x(chain[-2]), rank), edge, "target")
        elif kind == "back":
            self._attach_back(edge, chain, rank)
        elif kind == "side" and not layout.adjacent(edge.source, edge.target):
            source, target = layout.item_of[edge.source], layout.item_of[edge.target]
            self._book(edge.source, "bottom", (layout.x(target), rank), edge, "source")
            self._book(edge.target, "bottom", (layout.x(source), rank), edge, "target")

    def _attach_back(self, edge: _Edge, chain: Sequence[int], rank: int) -> None:
        """Book the sides of an edge going up that face its placeholders.

        Arrivals take the upper places and departures the lower ones, ordered so that no
        stub crosses the vertical run of another.
        """
        ends = [
            ("source", edge.source, chain[0], chain[1]),
            ("target", edge.target, chain[-1], chain[-2]),
        ]
        for end, node, node_key, dummy_key in ends:
            offset = self.layout.x(dummy_key) - self.layout.x(node_key)
            side = "right" if offset > 0 else "left"
            order = (abs(offset), rank) if end == "source" else (-abs(offset) - 1e6, rank)
            self._book(node, side, order, edge, end)

    def _assign_ports(self, node: str, side: str, bookings: Sequence[Booking]) -> None:
        """Spread the bookings of one side of a node evenly along it."""
        box, count = self.layout.box(node), len(bookings)
        for index, (_, edge, end) in enumerate(bookings):
            share = (index + 1) / (count + 1)
            if side in ("top", "bottom"):
                x = box.x + box.w * (0.15 + 0.7 * share)
                self.port[(edge, end)] = (x, box.y if side == "top" else box.y + box.h)
            else:
                skip = 22.0 if side == "right" and node in self.layout.looped else 0.0
                y = box.y + skip + (box.h - skip) * share
                self.port[(edge, end)] = (box.x + box.w if side == "right" else box.x, y)

    def _route(self, edge: _Edge) -> _Route:
        """Return the route of one edge."""
        kind = self._kind(edge)
        shape = {"self": self._self_loop, "side": self._side, "back": self._back}
        curve = shape.get(kind, self._down)(edge)
        return _Route(edge, curve, kind, self.layout.label_lines(edge))

    def _down(self, edge: _Edge) -> list[Cubic]:
        """Return an edge going down, straight through the placeholders it passes."""
        layout = self.layout
        points = [self.port[(edge, "source")]]
        for key in layout.chains[edge][1:-1]:
            top = layout.top(key)
            points.extend([(layout.x(key), top), (layout.x(key), top + NODE_HEIGHT)])
        points.append(self.port[(edge, "target")])
        pairs = enumerate(itertools.pairwise(points))
        return [_vertical(a, b) if index % 2 == 0 else _straight(a, b) for index, (a, b) in pairs]

    def _back(self, edge: _Edge) -> list[Cubic]:
        """Return an edge going up: out of the source's side, up, into the target's side."""
        layout = self.layout
        dummies = layout.chains[edge][1:-1]
        first, last = dummies[0], dummies[-1]
        curve = [_corner_up(self.port[(edge, "source")], (layout.x(first), layout.top(first)))]
        for lower, upper in itertools.pairwise(dummies):
            x, top = layout.x(upper), layout.top(upper)
            curve.append(_vertical((layout.x(lower), layout.top(lower)), (x, top + NODE_HEIGHT)))
            if upper != last:
                curve.append(_straight((x, top + NODE_HEIGHT), (x, top)))
        lowest = (layout.x(last), layout.top(last) + NODE_HEIGHT)
        curve.append(_corner_in(lowest, self.port[(edge, "target")]))
        return curve

    def _side(self, edge: _Edge) -> list[Cubic]:
        """Return an edge within a layer: straight if side by side, else a dip below."""
        if not self.layout.adjacent(edge.source, edge.target):
            a, b = self.port[(edge, "source")], self.port[(edge, "target")]
            depth = a[1] + MIN_LAYER_GAP * 0.45
            return [(a, (a[0], depth), (b[0], depth), b)]
        source, target = self.layout.box(edge.source), self.layout.box(edge.target)
        rightward = source.x < target.x
        shift = 7.0 if self._reverse_exists(edge) else 0.0
        y = source.y + source.h / 2 + (-shift if rightward else shift)
        start = source.x + source.w if rightward else source.x
        end = target.x if rightward else target.x + target.w
        return [_straight((start, y), (end, y))]

    def _reverse_exists(self, edge: _Edge) -> bool:
        """Say whether another edge joins the same two nodes the other way."""
        return any(e.source == edge.target and e.target == edge.source for e in self.layout.edges)

    def _self_loop(self, edge: _Edge) -> list[Cubic]:
        """Return a loop from a node's top back into its right side."""
        box = self.layout.box(edge.source)
        right, top = box.x + box.w, box.y
        start, end = (right - 18, top), (right, top + 13)
        return [(start, (right - 18, top - 34), (right + 34, top + 13), end)]


# ---------------------------------------------------------------------------- labels


def _cubic_point(curve: Cubic, t: float) -> Point:
    """Return the point at parameter t of a cubic Bézier curve."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    u = 1 - t
    x = u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3
    y = u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3
    return x, y


def _polyline(curve: Sequence[Cubic]) -> list[Point]:
    """Sample a curve into a polyline."""
    points = [curve[0][0]]
    for segment in curve:
        points.extend(_cubic_point(segment, step / 16) for step in range(1, 17))
    return points


def _along(points: Sequence[Point], fraction: float) -> Point:
    """Return the point a fraction of the way along a polyline."""
    steps = list(itertools.pairwise(points))
    lengths = [((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 for a, b in steps]
    goal = sum(lengths) * fraction
    for (a, b), length in zip(steps, lengths, strict=True):
        if length > 0 and goal <= length:
            share = goal / length
            return a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share
        goal -= length
    return points[-1]


def _label_box(route: _Route, at: Point) -> _Box:
    """Return the box a route's label takes at a point of the route."""
    width, height = _label_width(route.label), len(route.label) * LABEL_LINE + 4
    if route.kind == "self":
        return _Box(at[0] + 6, at[1] - height / 2, width, height)
    if route.kind == "side" and route.curve[0][0] == route.curve[0][1]:  # straight: above
        return _Box(at[0] - width / 2, at[1] - height - 3, width, height)
    return _Box(at[0] - width / 2, at[1] - height / 2, width, height)


def _place_labels(routes: Sequence[_Route], obstacles: Sequence[_Box]) -> list[_Box]:
    """Place each label along its edge where it covers least of the nodes and other labels."""
    placed: list[_Box] = []
    for route in routes:
        points = _polyline(route.curve)
        options = [_label_box(route, _along(points, spot)) for spot in LABEL_SPOTS[route.kind]]
        costs = [sum(box.overlap(other) for other in [*obstacles, *placed]) for box in options]
        placed.append(options[costs.index(min(costs))])
    return placed


# ---------------------------------------------------------------------------- SVG


def _num(value: float) -> str:
    """Format a number compactly."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _tag(name: str, attrs: Attrs, content: str | None = None) -> str:
    """Return an element with quoted attributes, self-closing when it has no content."""
    shown = "".join(
        f" {key}={quoteattr(_num(value) if isinstance(value, float | int) else _clean(value))}"
        for key, value in attrs.items()
    )
    return f"<{name}{shown}/>" if content is None else f"<{name}{shown}>{content}</{name}>"


def _text(x: float, y: float, text: str, attrs: Attrs) -> str:
    """Return a text element with escaped content."""
    return _tag("text", {"x": x, "y": y, **attrs}, escape(_clean(text)))


def _title(text: str) -> str:
    """Return a title element: a tooltip, and the accessible name of its parent."""
    return _tag("title", {}, escape(_clean(text)))


def _path_data(curve: Sequence[Cubic]) -> str:
    """Return SVG path data for a curve."""
    parts = [f"M{_num(curve[0][0][0])},{_num(curve[0][0][1])}"]
    for _, *points in curve:
        parts.append("C" + " ".join(f"{_num(x)},{_num(y)}" for x, y in points))
    return " ".join(parts)


def _defs() -> str:
    """Return the arrowhead markers."""
    markers = []
    for marker_id, colour in (("arrow", EDGE_COLOUR), ("arrow-back", BACK_COLOUR)):
        head = _tag("path", {"d": "M0,0 L10,5 L0,10 z", "fill": colour})
        attrs: Attrs = {
            "id": marker_id,
            "viewBox": "0 0 10 10",
            "refX": 9,
            "refY": 5,
            "markerWidth": 7,
            "markerHeight": 7,
            "orient": "auto",
        }
        markers.append(_tag("marker", attrs, head))
    return _tag("defs", {}, "".join(markers))


def _edge_svg(route: _Route) -> str:
    """Return an edge's arrow."""
    back = route.kind == "back"
    attrs: dict[str, str | float] = {
        "d": _path_data(route.curve),
        "fill": "none",
        "stroke": BACK_COLOUR if back else EDGE_COLOUR,
        "stroke-width": 1.4,
        "marker-end": "url(#arrow-back)" if back else "url(#arrow)",
    }
    if back:
        attrs["stroke-dasharray"] = "6 4"
    edge = route.edge
    title = _title(f"{edge.source} → {edge.target}: {', '.join(edge.labels)}")
    return _tag("g", {"class": f"edge {route.kind}"}, title + _tag("path", attrs))


def _label_svg(route: _Route, box: _Box) -> str:
    """Return an edge's label on a pale background."""
    background: Attrs = {
        "x": box.x,
        "y": box.y,
        "width": box.w,
        "height": box.h,
        "rx": 3,
        "fill": "#ffffff",
        "fill-opacity": 0.92,
        "stroke": "#cfd8dc",
        "stroke-width": 0.6,
    }
    colour = BACK_COLOUR if route.kind == "back" else TEXT_COLOUR
    style: Attrs = {"font-size": LABEL_SIZE, "fill": colour, "text-anchor": "middle"}
    lines = [
        _text(box.x + box.w / 2, box.y - 1 + LABEL_LINE * (index + 1), line, style)
        for index, line in enumerate(route.label)
    ]
    return _tag("g", {"class": "edge-label"}, _tag("rect", background) + "".join(lines))


def _node_svg(flow: Flow, node_id: str, box: _Box) -> str:
    """Return a node: a rounded rectangle coloured by type, with its id and details."""
    node = flow.nodes[node_id]
    fill, stroke = COLOURS.get(node.type, UNKNOWN_COLOUR)
    terminal = node.type in TERMINAL_TYPES
    radius = box.h / 2 if terminal else 9.0
    shape: Attrs = {
        "class": "node",
        "x": box.x,
        "y": box.y,
        "width": box.w,
        "height": box.h,
        "rx": radius,
        "fill": fill,
        "stroke": stroke,
        "stroke-width": 2.4 if terminal else 1.4,
    }
    prompts = ", ".join(node.prompts) or "no prompts"
    parts = [_title(f"{node_id} ({node.type}): {prompts}"), _tag("rect", shape)]
    if node.type in INPUT_TYPES:
        parts.append(_tag("rect", _inner_border(box, radius - 3, stroke)))
    centre = box.x + box.w / 2
    bold: Attrs = {"font-size": ID_SIZE, "font-weight": "bold", "fill": TEXT_COLOUR}
    parts.append(_text(centre, box.y + 20, node_id, {**bold, "text-anchor": "middle"}))
    detail = _truncate(_node_detail(node.type, node.prompts), DETAIL_SIZE, box.w - 20)
    muted: Attrs = {"font-size": DETAIL_SIZE, "fill": MUTED_COLOUR, "text-anchor": "middle"}
    parts.append(_text(centre, box.y + 36, detail, muted))
    parts.extend(_badges(flow, node_id, box))
    return _tag("g", {"class": f"node-{node.type}"}, "".join(parts))


def _inner_border(box: _Box, radius: float, stroke: str) -> Attrs:
    """Return the inner rectangle that doubles the border of an input node."""
    return {
        "x": box.x + 4,
        "y": box.y + 4,
        "width": box.w - 8,
        "height": box.h - 8,
        "rx": max(radius, 2.0),
        "fill": "none",
        "stroke": stroke,
        "stroke-width": 1.0,
    }


def _key_badge(x: float, y: float, key: str, colour: str) -> str:
    """Return a round badge showing a key."""
    circle = _tag("circle", {"cx": x, "cy": y, "r": 10, "fill": colour})
    style: Attrs = {"font-size": 11, "font-weight": "bold", "fill": "#ffffff"}
    return circle + _text(x, y + 4, key, {**style, "text-anchor": "middle"})


def _badges(flow: Flow, node_id: str, box: _Box) -> list[str]:
    """Return badges for the global keys that lead to a node from any menu."""
    keys = flow.global_keys
    shown = [keys.emergency] if node_id == flow.emergency_node else []
    shown += [keys.change_language] if node_id == flow.language_node else []
    left = box.x + 4
    return [_key_badge(left + 24 * i, box.y, key, KEY_COLOUR) for i, key in enumerate(shown)]


def _start_svg(box: _Box) -> str:
    """Return the start marker: a dot with an arrow into the start node."""
    x, dot_y = box.x + box.w / 2, box.y - START_SPACE + 8
    line: Attrs = {
        "d": f"M{_num(x)},{_num(dot_y)} L{_num(x)},{_num(box.y)}",
        "stroke": EDGE_COLOUR,
        "stroke-width": 1.6,
        "marker-end": "url(#arrow)",
    }
    dot = _tag("circle", {"cx": x, "cy": dot_y, "r": 7, "fill": TEXT_COLOUR})
    style: Attrs = {"font-size": 12, "font-weight": "bold", "fill": TEXT_COLOUR}
    word = _text(x + 14, dot_y + 4, "start", style)
    return _tag("g", {"class": "start"}, dot + _tag("path", line) + word)


# ---------------------------------------------------------------------------- legend


class _Legend:
    """Lay out the legend line by line, from its own top-left corner."""

    def __init__(self) -> None:
        self.y = 4.0
        self.parts: list[str] = []

    def heading(self, text: str, size: float) -> None:
        """Add a bold heading, wrapped to the legend's width."""
        style: Attrs = {"font-size": size, "font-weight": "bold", "fill": TEXT_COLOUR}
        for line in _wrap_words(text, size, LEGEND_WIDTH - 28):
            self.y += size + 6
            self.parts.append(_text(14, self.y, line, style))

    def line(self, text: str, indent: float = 14, step: float = 17) -> None:
        """Add a line of plain text."""
        self.y += step
        shown = _truncate(text, LEGEND_SIZE, LEGEND_WIDTH - 14 - indent)
        self.parts.append(
            _text(indent, self.y, shown, {"font-size": LEGEND_SIZE, "fill": TEXT_COLOUR})
        )

    def swatch(self, shapes: Sequence[Attrs], text: str) -> None:
        """Add small rectangles followed by what they mean."""
        for attrs in shapes:
            self.parts.append(
                _tag("rect", {"x": 14, "y": self.y + 8, "width": 34, "height": 16, **attrs})
            )
        self.line(text, indent=58, step=20)

    def arrow(self, colour: str, marker: str, text: str, dashed: bool = False) -> None:
        """Add a short arrow followed by what it means."""
        attrs: dict[str, str | float] = {
            "d": f"M14,{_num(self.y + 16)} h34",
            "stroke": colour,
            "stroke-width": 1.4,
            "fill": "none",
            "marker-end": f"url(#{marker})",
        }
        if dashed:
            attrs["stroke-dasharray"] = "6 4"
        self.parts.append(_tag("path", attrs))
        self.line(text, indent=58, step=20)

    def badge(self, key: str, colour: str, text: str) -> None:
        """Add a key badge followed by what the key does."""
        self.parts.append(_key_badge(31, self.y + 17, key, colour))
        self.line(text, indent=58, step=22)

    def height(self) -> float:
        """Return the height of the legend's frame."""
        return self.y + 16

    def svg(self, at: Point) -> str:
        """Return the legend in its frame, moved to a point."""
        frame: Attrs = {
            "width": LEGEND_WIDTH,
            "height": self.height(),
            "rx": 8,
            "fill": "#fafafa",
            "stroke": "#b0bec5",
            "stroke-width": 1,
        }
        move = f"translate({_num(at[0])},{_num(at[1])})"
        content = _tag("rect", frame) + "".join(self.parts)
        return _tag("g", {"class": "legend", "transform": move}, content)


def _legend(flow: Flow) -> _Legend:
    """Return the legend: title and version, node types, shapes, arrows and global keys."""
    legend = _Legend()
    legend.heading(flow.title or flow.id, 15)
    legend.line(f"flow {flow.id}, version {flow.version}")
    legend.y += 8
    legend.heading("Node types", 12)
    used = {node.type for node in flow.nodes.values()}
    for node_type in [t for t in NODE_TYPES if t in used] + sorted(used - set(NODE_TYPES)):
        fill, stroke = COLOURS.get(node_type, UNKNOWN_COLOUR)
        legend.swatch([{"rx": 5, "fill": fill, "stroke": stroke, "stroke-width": 1.4}], node_type)
    legend.y += 8
    legend.heading("Shapes and arrows", 12)
    _legend_shapes(legend)
    legend.y += 8
    legend.heading("Keys that work in every menu", 12)
    _legend_keys(flow, legend)
    return legend


def _legend_shapes(legend: _Legend) -> None:
    """Explain the borders, the arrows and the start marker."""
    plain: Attrs = {"rx": 5, "fill": "#ffffff", "stroke": MUTED_COLOUR, "stroke-width": 1.4}
    legend.swatch([plain], "plays or decides, then moves on")
    inner: Attrs = {"x": 17, "y": legend.y + 11, "width": 28, "height": 10, "rx": 3}
    legend.swatch(
        [plain, {**inner, "fill": "none", "stroke": MUTED_COLOUR}], "waits for the caller's keys"
    )
    legend.swatch([{**plain, "rx": 8, "stroke-width": 2.4}], "ends the flow (hangup, dial)")
    legend.arrow(EDGE_COLOUR, "arrow", "next step, by key or event")
    legend.arrow(BACK_COLOUR, "arrow-back", "leads back up the diagram", dashed=True)
    legend.parts.append(
        _tag("circle", {"cx": 31, "cy": legend.y + 16, "r": 6, "fill": TEXT_COLOUR})
    )
    legend.line("where every call starts", indent=58, step=20)


def _legend_keys(flow: Flow, legend: _Legend) -> None:
    """List the global keys and what they do."""
    keys = flow.global_keys
    legend.badge(keys.emergency, KEY_COLOUR, f"emergency → {flow.emergency_node}")
    legend.badge(keys.repeat, MUTED_COLOUR, "repeat the menu")
    legend.badge(keys.back, MUTED_COLOUR, "back to the previous menu")
    legend.badge(keys.change_language, KEY_COLOUR, f"change language → {flow.language_node}")
    legend.y += 6
    legend.line("A red badge on a node shows its key.")
    legend.line("Hover over a node to read all its prompts.")


# ---------------------------------------------------------------------------- drawing


def _obstacles(routes: Sequence[_Route], boxes: Iterable[_Box]) -> list[_Box]:
    """Return boxes around everything drawn: the given boxes and points along each edge."""
    out = list(boxes)
    for route in routes:
        out.extend(_Box(x - 6, y - 6, 12, 12) for x, y in _polyline(route.curve))
    return out


def _legend_corner(size: Point, legend: Point, obstacles: Sequence[_Box]) -> Point | None:
    """Return a free corner of the drawing for the legend, or None if no corner is free."""
    (width, height), (w, h) = size, legend
    right, bottom = width - MARGIN - w, height - MARGIN - h
    for x, y in ((right, MARGIN), (MARGIN, bottom), (right, bottom)):
        area = _Box(x - 16, y - 16, w + 32, h + 32)
        if x >= MARGIN and y >= MARGIN and not any(area.overlap(o) for o in obstacles):
            return x, y
    return None


def _arrange(layout: _Layout) -> tuple[list[_Route], dict[str, _Box], list[_Box]]:
    """Route the edges of a laid-out flow and place their labels."""
    routes = _Router(layout).routes()
    boxes = {node_id: layout.box(node_id) for node_id in layout.flow.nodes}
    return routes, boxes, _place_labels(routes, list(boxes.values()))


def render_svg(flow: Flow) -> str:
    """Draw a flow as a standalone SVG document and return its text."""
    layout = _Layout(flow)
    routes, boxes, labels = _arrange(layout)
    overhang = MARGIN - min((box.x for box in labels), default=MARGIN)
    if overhang > 0:  # a label sticks out on the left: move everything right
        layout.shift(overhang)
        routes, boxes, labels = _arrange(layout)
    width, height = layout.size()
    width = max([width, *(box.x + box.w + MARGIN for box in labels)])
    height = max([height, *(box.y + box.h + MARGIN for box in labels)])
    legend = _legend(flow)
    obstacles = _obstacles(routes, [*boxes.values(), *labels])
    corner = _legend_corner((width, height), (LEGEND_WIDTH, legend.height()), obstacles)
    if corner is None:
        corner, width = (width, MARGIN), width + LEGEND_WIDTH + MARGIN
    height = max(height, corner[1] + legend.height() + MARGIN)
    body = [_defs(), _tag("rect", {"width": width, "height": height, "fill": "#ffffff"})]
    body.extend(_edge_svg(route) for route in routes)
    body.extend(_node_svg(flow, node_id, box) for node_id, box in boxes.items())
    if flow.start in boxes:
        body.append(_start_svg(boxes[flow.start]))
    body.extend(_label_svg(route, box) for route, box in zip(routes, labels, strict=True))
    body.append(legend.svg(corner))
    root: Attrs = {
        "xmlns": "http://www.w3.org/2000/svg",
        "width": width,
        "height": height,
        "viewBox": f"0 0 {_num(width)} {_num(height)}",
        "font-family": FONT,
        "role": "img",
    }
    title = _title(f"{flow.title} (flow {flow.id}, version {flow.version})")
    return _tag("svg", root, title + "".join(body)) + "\n"
