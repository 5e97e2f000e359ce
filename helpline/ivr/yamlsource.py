"""Load YAML keeping the line of every mapping key, so problems can name file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

# libyaml's parser (bundled with PyYAML's wheels) reads the flows about ten times faster
# than the pure-Python one, with the same safe constructors and the same marks; every app
# (and every test) reads them at start-up.
try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]


class LineMap(dict[str, Any]):
    """A mapping that remembers where it and each of its keys stand in the file."""

    line: int = 0
    key_lines: dict[str, int]
    # Keys written more than once, with the line of the repeat (YAML keeps the last value).
    duplicate_keys: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        plain = super().construct_mapping(node, deep=True)
        mapping = LineMap({str(key): value for key, value in plain.items()})
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        mapping.duplicate_keys = {}
        for key_node, _ in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in mapping.key_lines:
                mapping.duplicate_keys.setdefault(key, line)
            mapping.key_lines[key] = line  # the last one, whose value YAML keeps
        return mapping


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node),  # type: ignore[arg-type]
)


class SourceError(ValueError):
    """A file that is not readable YAML, with the line where reading failed (0: unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load(path: Path) -> Any:
    """Parse one YAML file; mappings come back as LineMap."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark else 0
        raise SourceError(f"invalid YAML: {error.problem or 'cannot parse'}", line) from None
    except yaml.YAMLError as error:
        raise SourceError(f"invalid YAML ({type(error).__name__})") from None


def load_schema_1(path: Path, error: type[ValueError], expected: str) -> LineMap:
    """A data file that must be a mapping with `schema: 1`; `error` names file and line."""
    try:
        data: Any = load(path)
    except SourceError as problem:
        raise error(f"{path}:{problem.line}: {problem.message}") from None
    except FileNotFoundError:
        raise error(f"{path}: missing") from None
    if not isinstance(data, LineMap) or data.get("schema") != 1:
        raise error(f"{path}:1: expected `schema: 1` and {expected}")
    return data
