"""Put one server entry into a JSON(C) config file by editing its text, not by re-serialising
it: the user's comments, key order, indentation and line endings all stay. The result is
parsed again and must equal the intended merge, else `UnsafeEdit` is raised.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from cfmcp.client_configs.jsonc import Dialect, JsoncError, Member, Node, ObjectNode, parse


class UnsafeEdit(Exception):
    """The entry cannot be placed without risking the rest of the file (the message says why)."""


@dataclass(frozen=True)
class Existing:
    """What the file holds under the server's name."""

    present: bool
    value: Any = None


def existing_entry(root: Node | None, servers_at: tuple[str, ...], name: str) -> Existing:
    """The current entry called `name` in the servers object at `servers_at`."""
    found = _walk(root, servers_at)
    if found is None or found.path_left:
        return Existing(False)
    members = found.node.find(name)
    if len(members) > 1:
        raise UnsafeEdit(f"the server {name!r} is defined twice")
    return Existing(True, members[0].node.value) if members else Existing(False)


def put_entry(
    text: str, dialect: Dialect, servers_at: tuple[str, ...], name: str, entry: dict[str, Any]
) -> str:
    """`text` with `entry` as the server `name` (added, or replacing the old value)."""
    try:
        root = parse(text, dialect)
    except JsoncError as exc:
        raise UnsafeEdit(str(exc)) from None
    found = _walk(root, servers_at)  # first: it refuses what is not an object
    wanted = _merged(None if root is None else root.value, servers_at, name, entry)
    style = _Style.of(text)
    if found is None:  # no value yet: a BOM and any comments stay in front
        kept = text.rstrip(" \t\r\n")
        gap = style.newline if kept.lstrip("\ufeff") else ""
        new = kept + gap + _render(wanted, "", style) + style.newline
    elif found.path_left:
        value: Any = {name: entry}
        for key in reversed(found.path_left[1:]):
            value = {key: value}
        new = _insert_member(text, found.node, found.path_left[0], value, style)
    else:
        members = found.node.find(name)
        if members:
            new = _replace_value(text, members[0], entry, style)
        else:
            new = _insert_member(text, found.node, name, entry, style)
    return _verified(new, dialect, wanted)


def _verified(new: str, dialect: Dialect, wanted: Any) -> str:
    try:
        reread = parse(new, dialect)
    except JsoncError as exc:
        raise UnsafeEdit(f"the edited file would not parse ({exc})") from None
    if reread is None or reread.value != wanted:
        raise UnsafeEdit("the edited file would not hold the intended entry")
    return new


@dataclass
class _Found:
    node: ObjectNode
    path_left: tuple[str, ...]  # keys still to create below `node`


def _walk(root: Node | None, path: tuple[str, ...]) -> _Found | None:
    """The deepest existing object along `path` (and the keys missing below it)."""
    if root is None:
        return None
    if not isinstance(root, ObjectNode):
        raise UnsafeEdit("the file does not hold a JSON object")
    node = root
    for index, key in enumerate(path):
        members = node.find(key)
        if not members:
            return _Found(node, path[index:])
        if len(members) > 1:
            raise UnsafeEdit(f"{key!r} is defined twice")
        child = members[0].node
        if not isinstance(child, ObjectNode):
            raise UnsafeEdit(f"{'.'.join(path[: index + 1])!r} is not an object")
        node = child
    return _Found(node, ())


def _merged(document: Any, path: tuple[str, ...], name: str, entry: dict[str, Any]) -> Any:
    """The value the edited file must hold."""
    merged = copy.deepcopy(document) if document is not None else {}
    target = merged
    for key in path:
        target = target.setdefault(key, {})
    target[name] = entry
    return merged


@dataclass(frozen=True)
class _Style:
    newline: str
    unit: str  # one level of indentation

    @classmethod
    def of(cls, text: str) -> _Style:
        newline = "\r\n" if "\r\n" in text else "\n"
        # the indentation of lines that start with a key or a closing bracket (not comments)
        indents = re.findall(r"\n([ \t]+)[\"}\]]", text)
        if any(indent.startswith("\t") for indent in indents):
            return cls(newline, "\t")
        return cls(newline, " " * min((len(i) for i in indents), default=2))


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    match = re.match(r"[ \t]*", text[start:pos])
    return match.group() if match else ""


def _render(value: Any, indent: str, style: _Style) -> str:
    """`value` as pretty JSON whose continuation lines start with `indent`."""
    rendered = json.dumps(value, indent=style.unit, ensure_ascii=False)
    return rendered.replace("\n", style.newline + indent)


def _insert_member(text: str, obj: ObjectNode, key: str, value: Any, style: _Style) -> str:
    """`text` with `"key": value` as the last member of `obj`, laid out like its neighbours."""
    close = obj.end - 1
    key_json = json.dumps(key, ensure_ascii=False)
    last = obj.members[-1] if obj.members else None
    if last is None:
        after_last = obj.start + 1
    else:
        after_last = last.node.end if last.comma is None else last.comma + 1
    close_line = text.rfind("\n", 0, close) + 1
    own_line = close_line > after_last and not text[close_line:close].strip(" \t")
    if last is not None and not own_line:  # a one-line object: {"a": 1}
        compact = json.dumps(value, ensure_ascii=False)
        added = f" {key_json}: {compact}," if last.comma is not None else f", {key_json}: {compact}"
        return text[:after_last] + added + text[after_last:]
    close_indent = _line_indent(text, close if own_line else obj.start)
    if last is not None and _starts_line(text, last.key_start):
        indent = _line_indent(text, last.key_start)
    else:
        indent = close_indent + style.unit
    trailing = "," if last is not None and last.comma is not None else ""
    member = f"{indent}{key_json}: {_render(value, indent, style)}{trailing}{style.newline}"
    if own_line:
        new = text[:close_line] + member + text[close_line:]
    else:  # an empty object on one line: {} or { }
        opened = obj.start + 1
        new = text[:opened] + style.newline + member + close_indent + text[opened:]
    if last is not None and last.comma is None:
        new = new[: last.node.end] + "," + new[last.node.end :]
    return new


def _starts_line(text: str, pos: int) -> bool:
    start = text.rfind("\n", 0, pos) + 1
    return not text[start:pos].strip(" \t")


def _replace_value(text: str, member: Member, value: Any, style: _Style) -> str:
    indent = _line_indent(text, member.key_start)
    node = member.node
    return text[: node.start] + _render(value, indent, style) + text[node.end :]
