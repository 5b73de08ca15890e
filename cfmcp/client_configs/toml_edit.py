"""Put one `[mcp_servers.NAME]` table into a TOML file (Codex's config.toml) by editing its
text: the rest of the file, comments included, stays byte for byte. The result is read back
with tomllib and must equal the intended merge, else an error and nothing written.

An existing table is edited key by key: cfmcp's own keys are set (or removed, see
cfmcp.client_configs.entries) and every other line of it, sub-tables included, stays. The
table must be written with its own `[header]`; one defined inline or with dotted keys is
refused (the user edits it by hand).
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from cfmcp.client_configs.entries import merged_entry
from cfmcp.client_configs.json_edit import UnsafeEdit

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key: str) -> str:
    """A key as TOML writes it: bare when it can be, else a basic string."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_string(text: str) -> str:
    """A TOML basic string (control characters and DEL escaped, the rest kept)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def render_table(path: tuple[str, ...], entry: dict[str, Any], newline: str = "\n") -> str:
    """`[a.b]` and its `key = value` lines (no nested tables: entries here have none)."""
    lines = ["[" + ".".join(toml_key(key) for key in path) + "]"]
    lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in entry.items()]
    return newline.join(lines) + newline


def existing_table(document: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    """(present, value) of the table at `path`; refuses when a parent is not a table."""
    node: Any = document
    for index, key in enumerate(path):
        if not isinstance(node, dict):
            raise UnsafeEdit(f"{'.'.join(path[:index])!r} is not a table")
        if key not in node:
            return False, None
        node = node[key]
    return True, node


def put_table(
    text: str, path: tuple[str, ...], entry: dict[str, Any], owned: Collection[str] = ()
) -> str:
    """`text` with the table at `path` set to `entry`: appended, or merged into the old table
    (its keys that are not `owned` by cfmcp, and its sub-tables, stay)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnsafeEdit(str(exc)) from None
    present, current = existing_table(document, path)
    newline = "\r\n" if "\r\n" in text else "\n"
    if present:
        new = _edit_table(text, path, entry, owned, newline)
        entry = merged_entry(current, entry, owned)
    else:
        body = text if not text or text.endswith("\n") else text + newline
        gap = newline if body.strip() and not body.endswith(newline * 2) else ""
        new = body + gap + render_table(path, entry, newline)
    wanted = copy.deepcopy(document)
    target = wanted
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = entry
    try:
        reread = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise UnsafeEdit(f"the edited file would not parse ({exc})") from None
    if reread != wanted:
        raise UnsafeEdit("the edited file would not hold the intended table")
    return new


@dataclass(frozen=True)
class _Statement:
    """Lines `first` to `last` (inclusive) of one header, one `key = value`, or a blank or
    comment line. `keys` is a header's path, or the first key of a pair."""

    kind: str  # "header", "pair" or "other"
    first: int
    last: int
    keys: tuple[str, ...] = ()


def _edit_table(
    text: str, path: tuple[str, ...], entry: dict[str, Any], owned: Collection[str], newline: str
) -> str:
    """Set `entry`'s keys in the `[path]` table and drop the other `owned` ones."""
    statements = _statements(text)
    starts = [i for i, s in enumerate(statements) if s.kind == "header" and s.keys == path]
    if len(starts) != 1:
        raise UnsafeEdit(f"[{'.'.join(path)}] is not written as one table header")
    pairs: list[_Statement] = []
    for statement in statements[starts[0] + 1 :]:
        if statement.kind == "header":
            break
        if statement.kind == "pair":
            pairs.append(statement)
    edits: dict[int, str] = {}  # line -> its new text ("" removes the line)
    written: set[str] = set()
    for pair in pairs:
        key = pair.keys[0]
        if key not in entry and key not in owned:
            continue  # the user's own
        edits.update(dict.fromkeys(range(pair.first, pair.last + 1), ""))
        if key in entry and len(pair.keys) == 1:
            edits[pair.first] = _pair(key, entry[key], newline)
            written.add(key)
    after = pairs[-1].last if pairs else statements[starts[0]].last
    missing = "".join(_pair(k, v, newline) for k, v in entry.items() if k not in written)
    out = []
    for index, line in enumerate(re.findall(r"[^\n]*\n|[^\n]+$", text)):  # as the scanner
        out.append(edits.get(index, line))
        if index == after:
            if not out[-1].endswith("\n") and missing:
                out.append(newline)
            out.append(missing)
    return "".join(out)


def _pair(key: str, value: Any, newline: str) -> str:
    return f"{toml_key(key)} = {toml_value(value)}{newline}"


def _statements(text: str) -> list[_Statement]:
    """The file cut into statements, strings and comments understood (see `_Scanner`)."""
    scanner = _Scanner(text)
    statements = []
    while not scanner.done():
        statements.append(scanner.statement())
    return statements


class _Scanner:
    """Reads TOML statement by statement: basic and literal strings (one-line and multi-line,
    escapes included), comments, and arrays or inline tables spanning lines."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 0
        self.equals = -1

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def statement(self) -> _Statement:
        first = self.line
        self._skip_blanks()
        char = self.text[self.pos] if self.pos < len(self.text) else "\n"
        if char in "#\r\n":
            self._to_line_end()
            return _Statement("other", first, first)
        if char == "[":
            code = self._code_to_line_end(track_brackets=False)
            return _Statement("header", first, first, _header_path(code))
        code = self._code_to_line_end(track_brackets=True)
        if self.equals < 0:
            raise UnsafeEdit(f"cannot read the line {code.strip()!r}")
        return _Statement("pair", first, self.line - 1, _key_parts(code[: self.equals]))

    def _skip_blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def _to_line_end(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1
        self.line += 1

    def _code_to_line_end(self, *, track_brackets: bool) -> str:
        """The statement's text without comments, up to the newline that ends it; notes in
        `self.equals` where its first `=` outside strings and brackets is."""
        text, code, size, depth = self.text, [], 0, 0
        self.equals = -1
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\n" and depth <= 0:
                break
            if char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
                continue
            if char in "\"'":
                token = self._string()
                code.append(token)
                size += len(token)
                continue
            if char == "\n":
                self.line += 1
            elif track_brackets and char in "[{":
                depth += 1
            elif track_brackets and char in "]}":
                depth -= 1
            elif char == "=" and depth == 0 and self.equals < 0:
                self.equals = size
            code.append(char)
            size += 1
            self.pos += 1
        self._to_line_end()
        return "".join(code)

    def _string(self) -> str:
        """One string token from `self.pos` (it is the caller's to check that it is valid)."""
        text, start = self.text, self.pos
        quote = text[start]
        multi = text.startswith(quote * 3, start)
        pos = start + (3 if multi else 1)
        while pos < len(text):
            char = text[pos]
            if char == "\\" and quote == '"':
                pos += 2
                continue
            if multi and text.startswith(quote * 3, pos):
                pos += 3
                for _ in range(2):  # up to two quotes may end the content: """a""""
                    if pos < len(text) and text[pos] == quote:
                        pos += 1
                break
            if not multi and char == quote:
                pos += 1
                break
            if not multi and char == "\n":
                break  # unterminated: tomllib has already refused the file
            pos += 1
        self.line += text.count("\n", start, pos)
        self.pos = pos
        return text[start:pos]


def _header_path(code: str) -> tuple[str, ...]:
    """The key path of a `[table]` or `[[array]]` header (its comment already removed)."""
    try:
        parsed: Any = tomllib.loads(code.strip() + "\n")
    except tomllib.TOMLDecodeError:
        raise UnsafeEdit(f"cannot read the table header {code.strip()!r}") from None
    keys: list[str] = []
    while isinstance(parsed, (dict, list)) and parsed:
        if isinstance(parsed, list):
            parsed = parsed[-1]
            continue
        ((key, parsed),) = parsed.items()
        keys.append(key)
    return tuple(keys)


def _key_parts(key_text: str) -> tuple[str, ...]:
    """The parts of a pair's key, `env.A` -> ("env", "A")."""
    try:
        parsed: Any = tomllib.loads(key_text.strip() + " = 0\n")
    except tomllib.TOMLDecodeError:
        raise UnsafeEdit(f"cannot read the key {key_text.strip()!r}") from None
    keys: list[str] = []
    while isinstance(parsed, dict):
        ((key, parsed),) = parsed.items()
        keys.append(key)
    return tuple(keys)
