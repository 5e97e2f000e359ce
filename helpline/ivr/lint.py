"""`helpline flows check`: everything wrong with ivr_flows/, each with file and line.

Checks, by kind:
- schema: the file does not fit the format (found while loading);
- reference: a node leads to a node that does not exist;
- unreachable: no path from the start (or a global key) reaches the node;
- dead_end: no path from the node ends the call;
- input: an input node without timeout or invalid handling, or unbounded retries;
- prompt: a prompt missing in one of the flow's languages;
- audio: a language without text-to-speech lacks a prompt's audio file;
- loop: a silent caller would go round forever;
- emergency: the emergency key cannot be reached from some menu, or the emergency path
  can end in a voicemail before a queue (or reaches a queue not marked `emergency`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from helpline.callbacks import PROMPTS as callback_prompts
from helpline.ivr import model
from helpline.ivr.loader import ROUTING_FILE, Problem, load_catalog
from helpline.routing import announce

# Prompts the engine itself plays, whatever the flow: re-prompts, the language menu's
# options, the apology of the fallback, and the block list's message.
SYSTEM_PROMPTS = (
    "no_input",
    "invalid_input",
    "technical_problem",
    "language_option",
    "line_blocked",  # what a blocked number hears (helpline/voice/blocked.py)
)
_Add = Callable[[int, str, str], None]  # add(line, kind, message)
# Walking without a key press: the edges a silent caller takes.
_SILENT_EDGES = {
    "next",
    "open",
    "closed",
    "busy",
    "on_empty",
    "timeout",
    "unavailable",
    "remembered",
    "on_failure",
}


def check(root: Path) -> tuple[model.Catalog, list[Problem]]:
    """Load ivr_flows/ and run every check; problems come sorted by file and line."""
    catalog, problems = load_catalog(root)
    for flow in catalog.flows.values():
        problems += lint_flow(flow, catalog, root / "audio")
    problems += _check_data_files(root)
    return catalog, sorted(set(problems))


def lint_flow(flow: model.Flow, catalog: model.Catalog, audio_root: Path) -> list[Problem]:
    found: list[Problem] = []

    def add(line: int, kind: str, message: str) -> None:
        found.append(Problem(_shown(flow.path, catalog.root), line, kind, message))

    nodes = flow.nodes
    for name, target in (
        ("start", flow.start),
        ("emergency_node", flow.emergency_node),
        ("language_node", flow.language_node),
    ):
        if target and target not in nodes:
            add(
                1,
                "emergency" if name == "emergency_node" else "reference",
                f"`{name}:` names {target!r}, which is not a node",
            )
    if flow.language_node in nodes and nodes[flow.language_node].type != "language_menu":
        add(nodes[flow.language_node].line, "schema", "`language_node:` must be a language_menu")

    for node in nodes.values():
        for label, target in node.targets().items():
            if target not in nodes:
                add(
                    node.line,
                    "reference",
                    f"node {node.id!r} leads ({label}) to {target!r}, "
                    "which is not a node: a dead end",
                )
        if node.type == "schedule" and node.schedule not in catalog.schedules:
            add(
                node.line,
                "reference",
                f"node {node.id!r}: no schedule {node.schedule!r} in schedules.yaml",
            )

    _check_reachability(flow, add)
    _check_loops(flow, add)
    _check_keys(flow, add)
    _check_emergency_path(flow, add)
    found += _check_prompts(flow, catalog, audio_root)
    return found


def _check_data_files(root: Path) -> list[Problem]:
    """routing.yaml and staff_prompts.yaml, when present, must load (every flow uses them)."""
    from helpline.ivr.loader import STAFF_PROMPTS_FILE
    from helpline.routing.policy import PolicyError, load_policy
    from helpline.routing.whisper import WhisperError, load_staff_prompts

    checks: list[tuple[Path, Callable[[], object]]] = [
        (root / ROUTING_FILE, lambda: load_policy(root / ROUTING_FILE)),
        (root / STAFF_PROMPTS_FILE, lambda: load_staff_prompts(root)),
    ]
    found: list[Problem] = []
    for path, load_file in checks:
        if not path.exists():
            continue
        try:
            load_file()
        except (PolicyError, WhisperError) as error:
            found.append(_file_problem(path, root, str(error)))
    return found


def _file_problem(path: Path, root: Path, error: str) -> Problem:
    """A problem from an error worded `file:line: message`."""
    where, _, message = error.partition(": ")
    line = where.rsplit(":", 1)[-1]
    return Problem(
        _shown(str(path), str(root)), int(line) if line.isdigit() else 0, "schema", message
    )


def _shown(path: str, root: str) -> str:
    try:
        return str(Path(path).relative_to(Path(root).parent))
    except ValueError:
        return path


def _reach(start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [s for s in start if s in edges]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack += [t for t in edges[current] if t in edges and t not in seen]
    return seen


def _check_reachability(flow: model.Flow, add: _Add) -> None:
    forward = {n.id: set(n.targets().values()) for n in flow.nodes.values()}
    has_input = any(n.is_input for n in flow.nodes.values())
    roots = [flow.start] + ([flow.emergency_node, flow.language_node] if has_input else [])
    reached = _reach(roots, forward)
    for node in flow.nodes.values():
        if node.id not in reached:
            add(node.line, "unreachable", f"node {node.id!r} cannot be reached from the start")

    backward: dict[str, set[str]] = {n: set() for n in flow.nodes}
    for source, targets in forward.items():
        for target in targets:
            if target in backward:
                backward[target].add(source)
    ending = [n.id for n in flow.nodes.values() if n.type in model.TERMINAL_TYPES]
    can_end = _reach(ending, backward)
    for node in flow.nodes.values():
        if node.id in reached and node.id not in can_end:
            add(node.line, "dead_end", f"no path from node {node.id!r} ends the call")


def _check_loops(flow: model.Flow, add: _Add) -> None:
    """A cycle of edges taken without any key press keeps a silent caller forever."""
    silent = {
        n.id: {t for label, t in n.targets().items() if label in _SILENT_EDGES and t in flow.nodes}
        for n in flow.nodes.values()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    reported: set[frozenset[str]] = set()

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        path.append(node_id)
        for target in sorted(silent[node_id]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    line = flow.nodes[target].line
                    add(
                        line,
                        "loop",
                        "a caller who presses nothing goes round forever: "
                        + " -> ".join([*cycle, target]),
                    )
            elif state.get(target) is None:
                visit(target, path)
        path.pop()
        state[node_id] = 2

    for node_id in sorted(silent):
        if state.get(node_id) is None:
            visit(node_id, [])


def _check_keys(flow: model.Flow, add: _Add) -> None:
    keys = flow.global_keys.as_dict()
    by_key = {key: name for name, key in keys.items() if key}
    emergency_ok = flow.emergency_node in flow.nodes
    if emergency_ok and flow.nodes[flow.emergency_node].type != "dial":
        add(
            flow.nodes[flow.emergency_node].line,
            "emergency",
            f"the emergency node {flow.emergency_node!r} must dial out (type: dial)",
        )
    for node in flow.nodes.values():
        if not node.is_input:
            continue
        used = set(node.languages) | set(node.choices)
        if node.type in ("consent", "callback_request"):
            used |= {node.yes_key, node.no_key}
        for key in sorted(used & set(by_key)):
            name = by_key[key]
            kind = "emergency" if name == "emergency" else "schema"
            add(
                node.line,
                kind,
                f"node {node.id!r} uses key {key}, which is the global "
                f"{name.replace('_', ' ')} key: the {name.replace('_', ' ')} key cannot be "
                "reached from this menu",
            )
        if not flow.global_keys.emergency or not emergency_ok:
            add(node.line, "emergency", f"the emergency key cannot be reached from {node.id!r}")


def _check_emergency_path(flow: model.Flow, add: _Add) -> None:
    """From the emergency node, no voicemail before a queue: a caller who pressed the
    emergency key and whose duty line did not answer waits for any counsellor first. The
    queue must be an emergency queue (any counsellor, at the front); past it (its `busy`
    and `unavailable` paths included: nobody at all logged in, or routing down) a
    voicemail may be the last resort."""
    if flow.emergency_node not in flow.nodes:
        return
    came_from: dict[str, str | None] = {flow.emergency_node: None}
    stack = [flow.emergency_node]
    while stack:
        node = flow.nodes[stack.pop()]
        if node.type in ("voicemail", "queue"):
            path = [node.id]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            route = " -> ".join(reversed(path))
            if node.type == "voicemail":
                add(
                    node.line,
                    "emergency",
                    f"the emergency path reaches the voicemail {node.id!r} before any queue "
                    f"({route}): an emergency caller must wait for a counsellor first",
                )
            elif not node.emergency:
                add(
                    node.line,
                    "emergency",
                    f"the emergency path reaches the queue {node.id!r} ({route}), which is not "
                    "an emergency queue (`emergency: true`): any counsellor must be offered it",
                )
            continue
        for target in sorted(set(node.targets().values())):
            if target in flow.nodes and target not in came_from:
                came_from[target] = node.id
                stack.append(target)


def _check_prompts(flow: model.Flow, catalog: model.Catalog, audio_root: Path) -> list[Problem]:
    found: list[Problem] = []
    shown = _shown(flow.path, catalog.root)
    uses: list[tuple[str, int, str]] = [(p, 1, "the engine") for p in SYSTEM_PROMPTS]
    for node in flow.nodes.values():
        uses += [(p, node.line, f"node {node.id!r}") for p in node.prompts]
        if node.type == "queue" and node.next:  # callers wait here: the announcements
            uses += [(p, node.line, f"waiting at {node.id!r}") for p in announce.PROMPTS]
        if node.type == "callback_request":  # the callback, when it is made
            uses += [(p, node.line, f"called back from {node.id!r}") for p in callback_prompts]
    option_keys: dict[str, set[str]] = {}
    for node in flow.nodes.values():
        for key, language in node.languages.items():
            option_keys.setdefault(language, set()).add(key)
            if language not in flow.languages:
                found.append(
                    Problem(
                        shown,
                        node.line,
                        "schema",
                        f"language {language!r} is not in the flow's `languages:`",
                    )
                )
    for code in flow.languages:
        spoken = catalog.languages.get(code)
        if spoken is None:
            found.append(
                Problem(
                    shown,
                    1,
                    "prompt",
                    f"no prompts file for language {code!r} (ivr_flows/prompts/{code}.yaml)",
                )
            )
            continue
        for prompt_key, line, user in uses:
            prompt = spoken.prompts.get(prompt_key)
            if prompt is None:
                found.append(
                    Problem(
                        shown,
                        line,
                        "prompt",
                        f"{user} uses prompt {prompt_key!r}, missing in {code} "
                        f"({_shown(spoken.path, catalog.root)})",
                    )
                )
                continue
            if prompt_key == "language_option":
                variants = [{"key": k} for k in sorted(option_keys.get(code, ()))]
            elif prompt_key in announce.NUMBERED:
                variants = [{"key": k} for k in announce.NUMBERED[prompt_key]]
            else:
                variants = [{}]
            for params in variants:
                file = prompt.audio_file(params)
                if file is None and spoken.tts is None:
                    missing = f"{code} has no audio, and {code} has no text-to-speech voice"
                elif file is not None and not (audio_root / code / file).is_file():
                    missing = f"{code}: audio file audio/{code}/{file} is missing"
                else:
                    continue
                where = _shown(spoken.path, catalog.root)
                at = spoken.lines.get(prompt_key, 1)
                found.append(Problem(where, at, "audio", f"prompt {prompt_key!r} in {missing}"))
    return found
