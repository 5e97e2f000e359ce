"""helpline's import graph has no cycles.

import-linter's contracts (pyproject.toml, run by `python3 dev.py lint`) say which layer
may import which (docs/architecture.md); this says what they cannot: that no module of
helpline imports itself back through others. Imports inside functions count (grimp reads
them too): an import moved into a function to dodge a cycle is still a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import grimp
import pytest


def cycles(modules: Iterable[str], imports_of: Callable[[str], Iterable[str]]) -> list[list[str]]:
    """The import cycles: each strongly connected set of two or more modules, sorted.
    (Tarjan's algorithm, iterative: the graph is a few hundred modules deep at most, but
    recursion limits are not this test's business.)"""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(imports_of(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, pending = work[-1]
            step = next(pending, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(imports_of(step)))))
                elif step in on_stack:
                    low[module] = min(low[module], index[step])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                member = ""
                component = []
                while member != module:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_import_graph_has_no_cycles() -> None:
    """No module of helpline imports itself back, directly or through others, at module
    level or inside a function."""
    graph = grimp.build_graph("helpline", cache_dir=None)
    found = cycles(graph.modules, graph.find_modules_directly_imported_by)
    assert found == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        (
            {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}, "e": {"a", "c"}},
            [["a", "b"], ["c", "d"]],
        ),
        ({"a": {"a"}}, []),
    ],
)
def test_cycles_finds_each_strongly_connected_set(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    """`cycles` names every set of modules that import each other, and nothing else."""
    assert sorted(cycles(graph, lambda module: graph[module])) == expected


def test_import_graph_counts_imports_inside_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import inside a function closes a cycle as much as one at the top of a module."""
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text("from cyclic import domain\n")
    (package / "domain.py").write_text("def later() -> None:\n    from cyclic import jobs\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclic", cache_dir=None)
    found = cycles(graph.modules, graph.find_modules_directly_imported_by)
    assert found == [["cyclic.domain", "cyclic.jobs"]]
