"""cfmcp.client_configs.jsonc: JSON, plus comments and trailing commas only where allowed."""

from __future__ import annotations

import json

import pytest

from cfmcp.client_configs.jsonc import JSON, JSONC, Dialect, JsoncError, ObjectNode, loads, parse

COMMENTS_ONLY = Dialect(comments=True, trailing_commas=False)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [true, false, null], "c": {"d": "e"}}',
        '[1, -2.5, 3e10, 0, -0.0, 1E-2, "x"]',
        '"just a string"',
        "  42  ",
        '{"esc": "quote \\" backslash \\\\ slash \\/ unicode \\u00e9 \\ud83d\\ude00 \\n\\t"}',
        '{"": "", "dup": 1, "dup": 2}',
    ],
)
def test_plain_json_reads_like_the_json_module(text):
    assert loads(text, JSON) == json.loads(text)
    assert loads(text, JSONC) == json.loads(text)


def test_slashes_inside_strings_are_not_comments():
    text = '{"url": "https://x.example.com/mcp", "c": "/* not */", "d": "// nor this"}'
    assert loads(text, JSON) == json.loads(text)
    assert loads(text, JSONC)["d"] == "// nor this"


def test_an_escaped_quote_does_not_end_the_string():
    text = '{"a": "say \\"//hi\\" /*", "b": 1 /* real */}'
    assert loads(text, JSONC) == {"a": 'say "//hi" /*', "b": 1}


def test_comments_of_both_kinds_anywhere_between_tokens():
    text = """// head
    /* block
       over lines */ {
      "a" /* before colon */ : // after colon
        1, // after comma
      "b": [1, /* inside */ 2] /* end */
    } // tail"""
    assert loads(text, JSONC) == {"a": 1, "b": [1, 2]}


def test_a_block_comment_does_not_nest_and_stars_inside_are_fine():
    assert loads('/* a * b ** c /* d */ {"x": 1}', JSONC) == {"x": 1}
    assert loads("/**/ 1 /***/", JSONC) == 1


def test_trailing_commas_in_objects_and_arrays():
    assert loads('{"a": [1, 2,], "b": {"c": 1,},}', JSONC) == {"a": [1, 2], "b": {"c": 1}}


def test_crlf_and_bom():
    text = '\ufeff{\r\n  // c\r\n  "a": 1\r\n}\r\n'
    assert loads(text, JSONC) == {"a": 1}
    assert loads('\ufeff{"a": 1}', JSON) == {"a": 1}


@pytest.mark.parametrize(
    "text", ["", "   \n\t", "// only\n", "/* only */", "\ufeff", "// a\n/* b */\n"]
)
def test_a_document_without_a_value_is_none(text):
    assert parse(text, JSONC) is None


@pytest.mark.parametrize(
    ("text", "dialect", "reason"),
    [
        ('{"a": 1} // c', JSON, "comments are not allowed"),
        ('{"a": 1,}', JSON, "trailing comma is not allowed"),
        ('{"a": 1,}', COMMENTS_ONLY, "trailing comma is not allowed"),
        ("[1,]", COMMENTS_ONLY, "trailing comma is not allowed"),
        ('{"a": 1 /* open', JSONC, "unterminated /* comment"),
        ("{'a': 1}", JSONC, "property name in double quotes"),
        ("{a: 1}", JSONC, "property name in double quotes"),
        ('{"a": NaN}', JSONC, "unexpected character"),
        ('{"a": 0x10}', JSONC, "expected ','"),
        ('{"a": 01}', JSONC, "expected ','"),
        ('{"a": .5}', JSONC, "unexpected character"),
        ('{"a": "tab\there"}', JSONC, "control character"),
        ('{"a": "\\x41"}', JSONC, "invalid escape"),
        ('{"a": "open', JSONC, "unterminated string"),
        ('{"a" 1}', JSONC, "expected ':'"),
        ('{"a": 1 "b": 2}', JSONC, "expected ','"),
        ('{"a": 1}}', JSONC, "unexpected text after"),
        ('{"a": 1} {"b": 2}', JSONC, "unexpected text after"),
        ('{"a":', JSONC, "ends where a value should be"),
        ("[1, 2", JSONC, "expected ','"),
        ("{,}", JSONC, "property name in double quotes"),
        ("[,]", JSONC, "unexpected character"),
        ("/ 1", JSONC, "unexpected character"),
        ("truex", JSONC, "unexpected text after"),
        ("[" * 300 + "]" * 300, JSONC, "nested too deeply"),
    ],
)
def test_anything_else_is_refused_with_a_reason(text, dialect, reason):
    with pytest.raises(JsoncError) as caught:
        parse(text, dialect)
    assert reason in str(caught.value)


def test_errors_say_line_and_column():
    with pytest.raises(JsoncError) as caught:
        parse('{\n  "a": 1,\n  b: 2\n}', JSONC)
    assert (caught.value.line, caught.value.column) == (3, 3)
    assert str(caught.value).startswith("line 3, column 3:")


def test_members_know_their_spans_and_commas():
    text = '{ "a" : [1, 2] , "b": {"c": "d"}, "e": "f" }'
    root = parse(text, JSON)
    assert isinstance(root, ObjectNode)
    a, b, e = root.members
    assert text[e.node.start : e.node.end] == '"f"'
    assert text[a.key_start : a.key_start + 3] == '"a"'
    assert text[a.node.start : a.node.end] == "[1, 2]"
    assert a.comma is not None and text[a.comma] == ","
    assert text[b.node.start : b.node.end] == '{"c": "d"}' and e.comma is None
    assert text[root.start] == "{" and text[root.end - 1] == "}"


def test_a_key_defined_twice_is_visible_and_the_last_one_counts():
    root = parse('{"a": 1, "a": 2}', JSON)
    assert isinstance(root, ObjectNode)
    assert [m.node.value for m in root.find("a")] == [1, 2]
    assert root.value == {"a": 2}
