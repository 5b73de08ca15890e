"""Put one `[mcp_servers.NAME]` table into a TOML file (Codex's config.toml) by editing its
text: the rest of the file, comments included, stays byte for byte. The result is read back
with tomllib and must equal the intended merge, else an error and nothing written.
"""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

from cfmcp.client_configs.json_edit import UnsafeEdit

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_HEADER = re.compile(r"\s*(\[\[?)(.*?)\]\]?\s*(?:#.*)?$")


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


def put_table(text: str, path: tuple[str, ...], entry: dict[str, Any]) -> str:
    """`text` with the table at `path` set to `entry` (appended, or replacing the old one)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnsafeEdit(str(exc)) from None
    present, _ = existing_table(document, path)
    newline = "\r\n" if "\r\n" in text else "\n"
    table = render_table(path, entry, newline)
    if present:
        new = _replace_table(text, path, table)
    else:
        body = text if not text or text.endswith("\n") else text + newline
        gap = newline if body.strip() and not body.endswith(newline * 2) else ""
        new = body + gap + table
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


def _header_path(line: str) -> tuple[str, ...] | None:
    """The key path of a `[table]` or `[[array]]` header line, else None."""
    match = _HEADER.match(line)
    if not match:
        return None
    brackets, inner = match.groups()
    try:
        parsed: Any = tomllib.loads(f"{brackets}{inner}{brackets.replace('[', ']')}\n")
    except tomllib.TOMLDecodeError:
        return None
    keys: list[str] = []
    while isinstance(parsed, (dict, list)) and parsed:
        if isinstance(parsed, list):
            parsed = parsed[0]
            continue
        ((key, parsed),) = parsed.items()
        keys.append(key)
    return tuple(keys)


def _header_lines(lines: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    """(index, path) of every header line outside multi-line strings."""
    headers = []
    in_string: str | None = None
    for index, line in enumerate(lines):
        if in_string is None:
            path = _header_path(line)
            if path is not None:
                headers.append((index, path))
        for quote in re.findall(r'"""|\'\'\'', line):
            if in_string is None:
                in_string = quote
            elif quote == in_string:
                in_string = None
    return headers


def _replace_table(text: str, path: tuple[str, ...], table: str) -> str:
    """Swap the lines of the `[path]` table (and its sub-tables) for `table`."""
    lines = text.splitlines(keepends=True)
    headers = _header_lines(lines)
    starts = [index for index, header in headers if header == path]
    if len(starts) != 1:
        raise UnsafeEdit(f"[{'.'.join(path)}] is not written as one table header")
    start = starts[0]
    end = next(
        (index for index, header in headers if index > start and header[: len(path)] != path),
        len(lines),
    )
    while end - 1 > start and _is_blank_or_comment(lines[end - 1]):
        end -= 1  # blank lines and comments before the next table belong to that table
    return "".join(lines[:start]) + table + "".join(lines[end:])


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")
