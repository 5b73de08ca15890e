"""cfmcp.client_configs.json_edit and toml_edit: one entry in, every other byte kept."""

from __future__ import annotations

import json
import random
import tomllib

import pytest

from cfmcp.client_configs.json_edit import UnsafeEdit, existing_entry, put_entry
from cfmcp.client_configs.jsonc import JSON, JSONC, Dialect, loads, parse
from cfmcp.client_configs.toml_edit import put_table, render_table, toml_string

ENTRY = {"type": "http", "url": "https://gh.acme.workers.dev/mcp"}
SERVERS = ("servers",)


def test_vscode_file_with_comments_keeps_them_and_gains_the_entry():
    text = """{
  // Servers for this workspace
  "inputs": [],
  "servers": {
    /* the GitHub one */
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp"} // hosted
  }
}
"""
    assert (
        put_entry(text, JSONC, SERVERS, "cfmcp", ENTRY)
        == """{
  // Servers for this workspace
  "inputs": [],
  "servers": {
    /* the GitHub one */
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp"}, // hosted
    "cfmcp": {
      "type": "http",
      "url": "https://gh.acme.workers.dev/mcp"
    }
  }
}
"""
    )


def test_a_file_written_with_trailing_commas_keeps_that_style():
    text = '{\n    "servers": {\n        "a": {},\n    },\n}\n'
    new = put_entry(text, JSONC, SERVERS, "cfmcp", ENTRY)
    assert new == (
        '{\n    "servers": {\n        "a": {},\n        "cfmcp": {\n'
        '            "type": "http",\n            "url": "https://gh.acme.workers.dev/mcp"\n'
        "        },\n    },\n}\n"
    )


def test_crlf_tabs_and_bom_stay():
    text = '\ufeff{\r\n\t"servers": {\r\n\t\t"a": 1\r\n\t}\r\n}\r\n'
    new = put_entry(text, JSONC, SERVERS, "cfmcp", ENTRY)
    assert new.startswith(
        '\ufeff{\r\n\t"servers": {\r\n\t\t"a": 1,\r\n\t\t"cfmcp": {\r\n\t\t\t"type"'
    )
    assert "\n" not in new.replace("\r\n", "")
    assert loads(new, JSONC) == {"servers": {"a": 1, "cfmcp": ENTRY}}


def test_indentation_is_taken_from_keys_not_from_comments():
    text = '{\n/*\n * odd comment\n */\n    "servers": {}\n}\n'
    new = put_entry(text, JSONC, SERVERS, "cfmcp", {"url": "u"})
    assert new.endswith(
        '    "servers": {\n        "cfmcp": {\n            "url": "u"\n        }\n    }\n}\n'
    )


def test_one_line_objects_stay_on_one_line():
    new = put_entry('{"servers": {"a": 1}}', JSON, SERVERS, "cfmcp", ENTRY)
    assert (
        new
        == '{"servers": {"a": 1, "cfmcp": {"type": "http", "url": "https://gh.acme.workers.dev/mcp"}}}'
    )


def test_missing_containers_are_created_inside_the_root():
    text = '{\n  "$schema": "https://opencode.ai/config.json", // keep\n  "model": "x"\n}\n'
    new = put_entry(text, JSONC, ("mcp",), "cfmcp", {"type": "remote", "url": "u"})
    assert new.startswith(
        '{\n  "$schema": "https://opencode.ai/config.json", // keep\n  "model": "x",\n'
    )
    assert loads(new, JSONC)["mcp"] == {"cfmcp": {"type": "remote", "url": "u"}}
    deep = put_entry("{}", JSON, ("a", "b"), "n", {"x": 1})
    assert json.loads(deep) == {"a": {"b": {"n": {"x": 1}}}}


@pytest.mark.parametrize("text", ["", "\n\n", "{}", "{ }", "{\n}\n"])
def test_empty_files_and_objects_get_a_tidy_document(text):
    new = put_entry(text, JSON, SERVERS, "cfmcp", ENTRY)
    assert json.loads(new) == {"servers": {"cfmcp": ENTRY}}
    assert new.startswith("{\n  ") and new.rstrip().endswith("}")


def test_a_file_of_only_comments_keeps_them_above_the_new_document():
    new = put_entry("// my settings\n/* later */\n", JSONC, SERVERS, "cfmcp", ENTRY)
    assert new.startswith("// my settings\n/* later */\n{\n")
    assert loads(new, JSONC) == {"servers": {"cfmcp": ENTRY}}


def test_replacing_an_entry_keeps_the_comments_around_it():
    text = (
        '{\n  "servers": {\n    // mine\n    "cfmcp": {"url": "old"}, // old one\n'
        '    "b": 2,\n    "c": "old string"\n  }\n}'
    )
    new = put_entry(text, JSONC, SERVERS, "cfmcp", ENTRY)
    assert "    // mine\n" in new and "}, // old one\n" in new
    assert loads(new, JSONC) == {"servers": {"cfmcp": ENTRY, "b": 2, "c": "old string"}}
    again = put_entry(new, JSONC, SERVERS, "c", {"url": "new"})  # a string value replaced
    assert loads(again, JSONC)["servers"]["c"] == {"url": "new"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[]", "does not hold a JSON object"),
        ('{"servers": []}', "'servers' is not an object"),
        ('{"servers": {}, "servers": {}}', "'servers' is defined twice"),
        ('{"a": 1} // c', "comments are not allowed"),
    ],
)
def test_files_that_cannot_be_edited_safely_are_refused(text, reason):
    with pytest.raises(UnsafeEdit, match=reason):
        put_entry(text, JSON, SERVERS, "cfmcp", ENTRY)


def test_existing_entry_reports_presence_and_duplicates():
    assert existing_entry(parse('{"servers": {"cfmcp": null}}'), SERVERS, "cfmcp").present
    assert not existing_entry(parse('{"servers": {}}'), SERVERS, "cfmcp").present
    assert not existing_entry(parse("{}"), SERVERS, "cfmcp").present
    assert not existing_entry(None, SERVERS, "cfmcp").present
    with pytest.raises(UnsafeEdit, match="defined twice"):
        existing_entry(parse('{"servers": {"cfmcp": 1, "cfmcp": 2}}'), SERVERS, "cfmcp")


_COMMENTS = ["// line comment\n", "/* block */", "/* multi\n line */", " ", "\n", "\t"]


def _sprinkled(text: str, rng: random.Random) -> str:
    """`text` with comments dropped between tokens (never inside strings)."""
    out, in_string, escaped = [], False, False
    for char in text:
        out.append(char)
        if in_string:
            escaped = char == "\\" and not escaped
            in_string = not (char == '"' and not escaped)
            if char != "\\":
                escaped = False
            continue
        if char == '"':
            in_string = True
        elif char in "{}[],:" and rng.random() < 0.5:
            out.append(rng.choice(_COMMENTS))
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_random_layouts_with_comments_everywhere_keep_every_comment(seed):
    rng = random.Random(seed)
    document = {
        "editor": {"font": "mono // not a comment", "size": rng.randint(1, 20)},
        "servers": {
            f"s{i}": {"url": f"https://s{i}.example.com/*x*/"} for i in range(rng.randint(0, 3))
        },
        "list": [1, "two", {"three": [3]}],
    }
    if rng.random() < 0.3:
        del document["servers"]
    indent = rng.choice([None, 2, 4, "\t"])
    text = _sprinkled(json.dumps(document, indent=indent), rng)
    if rng.random() < 0.3:
        text = text.replace("\n", "\r\n")
    new = put_entry(text, JSONC, SERVERS, "cfmcp", ENTRY)
    expected = {**document, "servers": {**document.get("servers", {}), "cfmcp": ENTRY}}
    assert loads(new, JSONC) == expected
    for comment in ("// line comment", "/* block */", "/* multi"):
        assert new.count(comment) == text.count(comment)


def test_gemini_style_comments_without_trailing_commas_never_gain_one():
    dialect = Dialect(comments=True, trailing_commas=False)
    text = '{\n  // mine\n  "mcpServers": {\n    "a": {"httpUrl": "x"}\n  }\n}\n'
    new = put_entry(text, dialect, ("mcpServers",), "cfmcp", {"httpUrl": "y"})
    assert loads(new, dialect) == {"mcpServers": {"a": {"httpUrl": "x"}, "cfmcp": {"httpUrl": "y"}}}


# ---------------------------------------------------------------------------------- TOML

CODEX = """# my Codex settings
model = "o3"  # the default

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]

[profiles.fast]
model = "o4-mini"
"""
PATH = ("mcp_servers", "cfmcp")


def test_a_new_table_is_appended_and_the_file_kept_byte_for_byte():
    new = put_table(CODEX, PATH, {"url": "https://gh.acme.workers.dev/mcp"})
    assert new == CODEX + '\n[mcp_servers.cfmcp]\nurl = "https://gh.acme.workers.dev/mcp"\n'


def test_an_existing_table_and_its_sub_tables_are_replaced_in_place():
    text = (
        'model = "o3"\n\n[mcp_servers.cfmcp]\nurl = "https://old.example.com/mcp"\n'
        'startup_timeout_sec = 5\n\n[mcp_servers.cfmcp.env]\nA = "1"\n\n'
        '# the docs server\n[mcp_servers.docs]\ncommand = "npx"\n'
    )
    new = put_table(text, PATH, {"url": "https://new.example.com/mcp"})
    assert new == (
        'model = "o3"\n\n[mcp_servers.cfmcp]\nurl = "https://new.example.com/mcp"\n\n'
        '# the docs server\n[mcp_servers.docs]\ncommand = "npx"\n'
    )


def test_odd_names_are_quoted_and_lists_written():
    table = render_table(("mcp_servers", "my server"), {"command": "npx", "args": ["-y", 'a"b']})
    assert table == '[mcp_servers."my server"]\ncommand = "npx"\nargs = ["-y", "a\\"b"]\n'
    assert tomllib.loads(table) == {
        "mcp_servers": {"my server": {"command": "npx", "args": ["-y", 'a"b']}}
    }
    odd = "tab\t é 😀 del\x7f nl\n"
    assert tomllib.loads("k = " + toml_string(odd))["k"] == odd


def test_quoted_header_of_an_existing_table_is_found():
    text = '[mcp_servers."cfmcp"]\nurl = "old"\n'
    assert put_table(text, PATH, {"url": "new"}) == '[mcp_servers.cfmcp]\nurl = "new"\n'


def test_a_header_inside_a_multiline_string_is_not_a_header():
    text = 'note = """\n[mcp_servers.cfmcp]\n"""\n\n[mcp_servers.cfmcp]\nurl = "old"\n'
    new = put_table(text, PATH, {"url": "new"})
    assert new == 'note = """\n[mcp_servers.cfmcp]\n"""\n\n[mcp_servers.cfmcp]\nurl = "new"\n'


def test_crlf_and_a_missing_final_newline():
    assert put_table("a = 1\r\nb = 2", PATH, {"url": "u"}) == (
        'a = 1\r\nb = 2\r\n\r\n[mcp_servers.cfmcp]\r\nurl = "u"\r\n'
    )
    assert put_table("", PATH, {"url": "u"}) == '[mcp_servers.cfmcp]\nurl = "u"\n'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[mcp_servers]\ncfmcp = { url = "old" }\n', "not written as one table header"),
        ('mcp_servers.cfmcp.url = "old"\n', "not written as one table header"),
        ("mcp_servers = 1\n", "'mcp_servers' is not a table"),
        ("model = \n", "Invalid value"),
    ],
)
def test_toml_that_cannot_be_edited_safely_is_refused(text, reason):
    with pytest.raises(UnsafeEdit, match=reason):
        put_table(text, PATH, {"url": "u"})
