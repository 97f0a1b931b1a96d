"""Safe YAML: plain data with line numbers, and nothing that could hurt the service gets through.

No test here asserts on timing: the alias bomb is shown to be stopped by the
node budget (by counting the values built), not by how fast it fails.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ivr.core import yamlsafe
from ivr.exceptions import UnsafeYamlError

CORPUS = Path(__file__).resolve().parents[1] / "broken_flows"


def refused(text: str | bytes, **limits: int) -> UnsafeYamlError:
    with pytest.raises(UnsafeYamlError) as info:
        yamlsafe.load(text, **limits)
    return info.value


def bomb(levels: int, width: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def count_built(monkeypatch):
    """How many values yamlsafe built (each call to _build is one value)."""
    calls = [0]
    real = yamlsafe._build

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(yamlsafe, "_build", counting)
    return calls


# --------------------------------------------------------------------------- alias bombs


def test_billion_laughs_is_refused_by_the_node_budget(count_built) -> None:
    text = (CORPUS / "alias_bomb" / "main.yaml").read_text()
    error = refused(text)
    assert "too many values (an alias bomb?)" in str(error)
    assert error.line == 2
    # 9^9 strings would be built without the budget; it stops right after MAX_NODES.
    assert count_built[0] == yamlsafe.MAX_NODES + 1


def test_the_budget_is_what_stops_a_bomb() -> None:
    small = bomb(3)  # the mapping, then 1 + 10 + 91 + 820 values for a0..a3: 923 in all
    doc = yamlsafe.load(small)
    assert len(doc.data["a3"]) == 9 and doc.data["a3"][8][8][8] == "lol"
    error = refused(small, max_nodes=922)
    assert "too many values" in str(error)
    assert yamlsafe.load(small, max_nodes=923).data == doc.data


def test_a_few_aliases_are_fine() -> None:
    doc = yamlsafe.load("phrases: &p [billing, bill]\nagain: *p\n")
    assert doc.data == {"phrases": ["billing", "bill"], "again": ["billing", "bill"]}
    assert doc.data["phrases"] is not doc.data["again"]  # built twice, never shared


def test_recursive_alias_is_refused() -> None:
    error = refused("loop: &loop [*loop]\n")
    assert str(error) == "recursive alias" and error.line == 1


def test_deep_nesting_is_refused_before_composing() -> None:
    error = refused("a: " + "[" * 40 + "]" * 40 + "\n")
    assert str(error) == f"values are nested more than {yamlsafe.MAX_DEPTH} levels deep" and error.line == 1
    error = refused("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 40)) + "  " * 40 + "c: 1\n")
    assert error.line == yamlsafe.MAX_DEPTH + 1
    nested: list = []
    for _ in range(yamlsafe.MAX_DEPTH - 2):  # the top mapping counts as a level
        nested = [nested]
    text = "a: " + "[" * (yamlsafe.MAX_DEPTH - 1) + "]" * (yamlsafe.MAX_DEPTH - 1)
    assert yamlsafe.load(text).data == {"a": nested}


def test_aliases_cannot_nest_deeper_than_the_text() -> None:
    chain = 'a0: &a0 "x"\n' + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 100))
    assert "nested more than" in str(refused(chain))


def test_very_deep_nesting_neither_recurses_nor_crashes() -> None:
    """Run in a child: composing 100,000 levels used to overflow the C stack (a segfault, not an error)."""
    code = textwrap.dedent("""\
        from ivr.core import yamlsafe
        from ivr.exceptions import UnsafeYamlError
        for text in ("a: " + "[" * 100_000 + "]" * 100_000, "a: " + "{a: " * 50_000 + "1" + "}" * 50_000):
            try:
                yamlsafe.load(text)
            except UnsafeYamlError as exc:
                print(exc)
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"values are nested more than {yamlsafe.MAX_DEPTH} levels deep"] * 2


# --------------------------------------------------------------------------- tags


@pytest.mark.parametrize("text, tag", [
    ("x: !!python/object/apply:os.system [echo pwned]\n", "!!python/object/apply:os.system"),
    ("x: !!python/object/apply:os.system {args: [echo pwned]}\n", "!!python/object/apply:os.system"),
    ("x: !!python/name:os.system\n", "!!python/name:os.system"),
    ("x: !!python/object:builtins.object {}\n", "!!python/object:builtins.object"),
    ("x: !!python/module:os\n", "!!python/module:os"),
    ("x: !!python/tuple [1, 2]\n", "!!python/tuple"),
    ("x: !!binary aGVsbG8=\n", "!!binary"),
    ("x: !!set {a: null}\n", "!!set"),
    ("x: !!omap [{a: 1}]\n", "!!omap"),
    ("x: !custom hello\n", "!custom"),
    ("!!python/object/apply:os.system [echo pwned]\n", "!!python/object/apply:os.system"),
])
def test_tags_beyond_plain_data_are_refused(text: str, tag: str) -> None:
    error = refused(text)
    assert str(error) == f"tag {tag!r} is not allowed (only plain text, numbers, true/false, lists and mappings)"
    assert error.line == 1


def test_a_python_tag_is_never_executed(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    text = f"a: ok\nb: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{target}']]\n"
    assert refused(text).line == 2
    assert not target.exists()


def test_plain_tags_are_allowed() -> None:
    doc = yamlsafe.load('a: !!str 1\nb: !!int "2"\nc: !!float 3\nd: !!bool "true"\ne: !!null ""\n')
    assert doc.data == {"a": "1", "b": 2, "c": 3.0, "d": True, "e": None}


# --------------------------------------------------------------------------- keys


def test_merge_keys_are_refused() -> None:
    error = refused("base: &base {retries: 3}\nmenu:\n  <<: *base\n  prompt: Hi\n")
    assert str(error) == "merge keys (<<) are not supported" and error.line == 3


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    error = refused("steps:\n  - id: a\n    next: b\n    say: Hi\n    next: c\n")
    assert str(error) == "duplicate key 'next' (first on line 3)" and error.line == 5


def test_complex_keys_are_refused() -> None:
    error = refused("? [a, b]\n: c\n")
    assert str(error) == "mapping keys must be plain words" and error.line == 1


def test_scalar_keys_become_words_or_numbers() -> None:
    assert yamlsafe.load("1: a\n2.5: b\nnull: c\ntrue: d\n").data == {1: "a", "2.5": "b", "None": "c", "True": "d"}


# --------------------------------------------------------------------------- size and syntax


def test_size_limit_counts_utf8_bytes() -> None:
    limit = 64
    exact = "a: " + "x" * (limit - 4) + "\n"
    assert len(exact.encode()) == limit
    assert yamlsafe.load(exact, max_bytes=limit).data == {"a": "x" * (limit - 4)}
    error = refused(exact.replace("x", "é", 1), max_bytes=limit)  # one character, two bytes
    assert str(error) == f"file is {limit + 1} bytes; the limit is {limit}" and error.line is None


def test_default_size_limit() -> None:
    assert yamlsafe.MAX_BYTES == 256 * 1024
    over = "# " + "x" * yamlsafe.MAX_BYTES + "\na: 1\n"
    assert str(refused(over)) == f"file is {len(over)} bytes; the limit is {yamlsafe.MAX_BYTES}"
    assert str(refused(over.encode())) == str(refused(over))


def test_syntax_errors_carry_the_line_and_what_was_open() -> None:
    error = refused("flow: main\nsteps:\n  - id: a\n    say: [Hello, there\n  - id: b\n")
    assert str(error) == "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence on line 4)"
    assert error.line == 5
    error = refused("a: b: c\n")
    assert str(error) == "YAML syntax error: mapping values are not allowed in this context" and error.line == 1


def test_an_error_at_the_end_of_the_file_points_where_it_began() -> None:
    error = refused('a: 1\nb: "unterminated\n')
    assert error.line == 2 and "while scanning a quoted scalar on line 2" in str(error)


def test_undefined_alias_and_several_documents() -> None:
    assert "found undefined alias" in str(refused("a: *nope\n"))
    error = refused("a: 1\n---\nb: 2\n")
    assert "but found another document" in str(error) and error.line == 2


def test_invalid_scalars_are_problems_not_crashes() -> None:
    error = refused("holidays:\n  - date: 2026-02-30\n")
    assert str(error) == "'2026-02-30' is not a valid value: day is out of range for month" and error.line == 2
    error = refused("a: !!bool maybe\n")
    assert str(error) == "'maybe' is not a valid value" and error.line == 1
    assert refused("a: !!int twelve\n").line == 1


def test_empty_document() -> None:
    assert yamlsafe.load("").data is None
    assert yamlsafe.load("# only a comment\n").data is None


# --------------------------------------------------------------------------- values and lines


def test_dates_and_times_stay_text() -> None:
    doc = yamlsafe.load("d: 2026-11-26\nt: 2026-11-25 13:00:00\nclock: 09:00\n")
    assert doc.data == {"d": "2026-11-26", "t": "2026-11-25T13:00:00", "clock": "09:00"}


def test_yes_and_no_are_booleans() -> None:
    """YAML 1.1 as PyYAML reads it: the loader turns this into a hint, see tests/broken_flows/unquoted_yes."""
    assert yamlsafe.load("say: [yes, no, on, off, 'yes']\n").data == {"say": [True, False, True, False, "yes"]}


def test_line_of_every_value() -> None:
    doc = yamlsafe.load(textwrap.dedent("""\
        # a comment
        flow: main
        steps:
          - id: hello
            say: >-
              Hello
              there.
          - id: pick
            menu:
              options: [{key: "1", next: hello},
                        {key: "2", next: pick}]
        """))
    lines = doc.lines
    assert lines[()] == 2
    assert lines[("flow",)] == 2
    assert lines[("steps",)] == 3
    assert lines[("steps", 0)] == 4 and lines[("steps", 0, "id")] == 4
    assert lines[("steps", 0, "say")] == 5
    assert doc.data["steps"][0]["say"] == "Hello there."
    assert lines[("steps", 1, "menu", "options", 0, "next")] == 10
    assert lines[("steps", 1, "menu", "options", 1)] == 11
    assert lines[("steps", 1, "menu", "options", 1, "key")] == 11


def test_line_of_falls_back_to_the_nearest_known_ancestor() -> None:
    doc = yamlsafe.load("a:\n  b:\n    - c\n")
    assert doc.line_of(("a", "b", 0)) == 3
    assert doc.line_of(("a", "b", 0, "missing", 7)) == 3
    assert doc.line_of(("a", "nope")) == 1
    assert doc.line_of(("zzz",)) == 1
    assert yamlsafe.Document(None).line_of(("a",)) is None


def test_a_key_line_is_where_the_key_is_written() -> None:
    """For ``key:`` followed by a block on the next lines, the key's own line is reported."""
    doc = yamlsafe.load("menu:\n\n  prompt: Hi\n")
    assert doc.line_of(("menu",)) == 1 and doc.line_of(("menu", "prompt")) == 3
