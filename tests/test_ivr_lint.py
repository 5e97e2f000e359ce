"""`helpline flows check`: the default flow passes, and each kind of error has an example.

Each file in tests/flows_invalid/ breaks one rule. Its header says which:
`# expect: KIND line N` (in the example itself) or `# expect: KIND FILE key PROMPT`
(in a prompts file), and `# setup: remove PATH` removes a file from the copy first.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpline.cli import main
from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr.lint import check

EXAMPLES = sorted((Path(__file__).parent / "flows_invalid").glob("*.yaml"))
KINDS = {
    "schema",
    "reference",
    "unreachable",
    "dead_end",
    "input",
    "prompt",
    "audio",
    "loop",
    "emergency",
}


def _workspace(tmp_path: Path, example: Path) -> Path:
    """A copy of ivr_flows/ whose only flow is the example, with its setup applied."""
    root = tmp_path / "ivr_flows"
    shutil.copytree(DEFAULT_FLOWS_PATH, root, ignore=shutil.ignore_patterns("tests"))
    for flow in root.glob("*.yaml"):
        if flow.name != "schedules.yaml":
            flow.unlink()
    text = example.read_text(encoding="utf-8")
    for match in re.finditer(r"^# setup: remove (\S+)$", text, re.M):
        (root / match.group(1)).unlink()
    shutil.copy(example, root / example.name)
    return root


def test_default_flow_passes_the_check() -> None:
    """The shipped flows, prompts and audio have no problem at all."""
    _, problems = check(DEFAULT_FLOWS_PATH)
    assert [str(p) for p in problems] == []


def test_every_kind_of_error_has_a_failing_example() -> None:
    kinds = {re.search(r"# expect: (\w+)", e.read_text()).group(1) for e in EXAMPLES}  # type: ignore[union-attr]
    assert kinds == KINDS


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_linter_reports_each_kind_with_file_and_line(tmp_path: Path, example: Path) -> None:
    root = _workspace(tmp_path, example)
    header = re.search(r"^# expect: (\w+) (.+)$", example.read_text(), re.M)
    assert header is not None
    kind, where = header.group(1), header.group(2)
    if where.startswith("line "):
        path, line = f"ivr_flows/{example.name}", int(where.split()[1])
    else:
        file, _, prompt = where.split()
        path = f"ivr_flows/{file}"
        lines = (root / file).read_text(encoding="utf-8").splitlines()
        line = lines.index(f"  {prompt}:") + 1
    _, problems = check(root)
    found = [(p.path, p.line, p.kind) for p in problems]
    assert (path, line, kind) in found, "\n".join(str(p) for p in problems)


def test_yaml_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    root = _workspace(tmp_path, EXAMPLES[0])
    (root / "typo.yaml").write_text(
        "schema: 1\nflow: typo\nnodes:\n  a: [unclosed\n", encoding="utf-8"
    )
    _, problems = check(root)
    assert any(
        p.path == "ivr_flows/typo.yaml" and p.line >= 4 and p.kind == "schema" for p in problems
    )


def test_flows_check_command_exits_non_zero_on_problems(tmp_path: Path) -> None:
    """`helpline flows check` prints FILE:LINE: message [kind] and exits 1."""
    root = _workspace(tmp_path, Path(__file__).parent / "flows_invalid" / "emergency.yaml")
    result = CliRunner().invoke(main, ["flows", "check", "--path", str(root)])
    assert result.exit_code == 1
    assert "ivr_flows/emergency.yaml:23:" in result.output
    assert "[emergency]" in result.output
    ok = CliRunner().invoke(main, ["flows", "check", "--path", str(DEFAULT_FLOWS_PATH)])
    assert ok.exit_code == 0, ok.output
    assert "no problems" in ok.output


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("9", "cannot be the emergency key"),
        ("1", "cannot be 1 (a callback)"),
        ("x", "not a phone key"),
    ],
)
def test_queue_cut_off_consent_key_is_checked(tmp_path: Path, key: str, expected: str) -> None:
    """The queue's cut-off consent key is a phone key other than 1 and the emergency key."""
    root = tmp_path / "ivr_flows"
    shutil.copytree(DEFAULT_FLOWS_PATH, root, ignore=shutil.ignore_patterns("tests"))
    flow = root / "default.yaml"
    text = flow.read_text(encoding="utf-8")
    assert 'cut_off_consent: "2"' in text
    flow.write_text(text.replace('cut_off_consent: "2"', f'cut_off_consent: "{key}"'))
    _, problems = check(root)
    assert any(expected in str(problem) for problem in problems), [str(p) for p in problems]
