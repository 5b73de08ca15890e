"""A JSON reader that also accepts what some hosts allow in their config files: `//` and
`/* */` comments and trailing commas (each only when asked), and a leading UTF-8 BOM.

Besides the value, it keeps where each object member sits in the text, so an editor can
insert or replace one member and leave every other byte (comments included) as it was.
Anything else that is not JSON (single quotes, bare keys, NaN, hex numbers, control
characters in strings) is refused with its line and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 200
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WHITESPACE = " \t\n\r"
_BOM = "\ufeff"


class JsoncError(ValueError):
    """The text is not JSON (or JSONC, as allowed); `line` and `column` count from 1."""

    def __init__(self, message: str, text: str, pos: int) -> None:
        self.line = text.count("\n", 0, pos) + 1
        self.column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        self.reason = message
        super().__init__(f"line {self.line}, column {self.column}: {message}")


@dataclass
class Node:
    """A value and its span `text[start:end]`."""

    start: int
    end: int
    value: Any


@dataclass
class Member:
    """One `"key": value` of an object; `comma` is the index of the comma after it, if any."""

    key: str
    key_start: int
    node: Node
    comma: int | None = None


@dataclass
class ObjectNode(Node):
    """An object: `start` is its `{`, `end - 1` its `}`."""

    members: list[Member] = field(default_factory=list)

    def find(self, key: str) -> list[Member]:
        """The members named `key` (JSON allows a key twice; the last one counts)."""
        return [m for m in self.members if m.key == key]


@dataclass(frozen=True)
class Dialect:
    """What a host accepts beyond JSON."""

    comments: bool = False
    trailing_commas: bool = False

    def describe(self) -> str:
        """How error messages name this syntax."""
        if self.comments and self.trailing_commas:
            return "JSONC"
        if self.comments:
            return "JSON with comments"
        return "JSON"


JSON = Dialect()
JSONC = Dialect(comments=True, trailing_commas=True)


def parse(text: str, dialect: Dialect = JSONC) -> Node | None:
    """The document's root node, or None when it holds no value (empty, or only comments)."""
    reader = _Reader(text, dialect)
    reader.skip_space()
    if reader.pos == len(text):
        return None
    root = reader.value(0)
    reader.skip_space()
    if reader.pos != len(text):
        raise reader.error("unexpected text after the JSON value")
    return root


def loads(text: str, dialect: Dialect = JSONC) -> Any:
    """The document's value (None when it holds none)."""
    root = parse(text, dialect)
    return None if root is None else root.value


class _Reader:
    def __init__(self, text: str, dialect: Dialect) -> None:
        self.text = text
        self.dialect = dialect
        self.pos = 1 if text.startswith(_BOM) else 0

    def error(self, message: str, pos: int | None = None) -> JsoncError:
        return JsoncError(message, self.text, self.pos if pos is None else pos)

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in _WHITESPACE:
                self.pos += 1
            elif text.startswith("//", self.pos) or text.startswith("/*", self.pos):
                if not self.dialect.comments:
                    raise self.error("comments are not allowed in this file")
                if text[self.pos + 1] == "/":
                    newline = text.find("\n", self.pos)
                    self.pos = len(text) if newline < 0 else newline + 1
                else:
                    close = text.find("*/", self.pos + 2)
                    if close < 0:
                        raise self.error("unterminated /* comment")
                    self.pos = close + 2
            else:
                return

    def value(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error("nested too deeply")
        text, start = self.text, self.pos
        char = text[start] if start < len(text) else ""
        if char == "{":
            return self.object(depth)
        if char == "[":
            return self.array(depth)
        if char == '"':
            decoded = self.string()
            return Node(start, self.pos, decoded)
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, start):
                self.pos += len(word)
                return Node(start, self.pos, literal)
        number = _NUMBER.match(text, start)
        if number:
            self.pos = number.end()
            return Node(start, self.pos, json.loads(number.group()))
        if not char:
            raise self.error("the text ends where a value should be")
        raise self.error(f"unexpected character {char!r} where a value should be")

    def string(self) -> str:
        text, start = self.text, self.pos
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            if char == '"':
                self.pos = pos + 1
                try:
                    decoded: str = json.loads(text[start : self.pos])
                except ValueError:
                    raise self.error("invalid escape in string", start) from None
                return decoded
            if char == "\\":
                pos += 2
                continue
            if char < " ":
                raise self.error("control character in string (escape it)", pos)
            pos += 1
        raise self.error("unterminated string", start)

    def after_item(self, close: str) -> int | None:
        """After a member or item: the index of its comma, or None before `close`."""
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == ",":
            comma = self.pos
            self.pos += 1
            self.skip_space()
            at_close = self.pos < len(self.text) and self.text[self.pos] == close
            if at_close and not self.dialect.trailing_commas:
                raise self.error("trailing comma is not allowed in this file", comma)
            return comma
        if self.pos < len(self.text) and self.text[self.pos] == close:
            return None
        raise self.error(f"expected ',' or '{close}'")

    def object(self, depth: int) -> ObjectNode:
        node = ObjectNode(self.pos, self.pos, {})
        self.pos += 1
        self.skip_space()
        while self.pos >= len(self.text) or self.text[self.pos] != "}":
            if self.pos >= len(self.text) or self.text[self.pos] != '"':
                raise self.error("expected a property name in double quotes")
            key_start = self.pos
            key = self.string()
            self.skip_space()
            if self.pos >= len(self.text) or self.text[self.pos] != ":":
                raise self.error("expected ':' after the property name")
            self.pos += 1
            self.skip_space()
            member = Member(key, key_start, self.value(depth + 1))
            node.value[key] = member.node.value
            member.comma = self.after_item("}")
            node.members.append(member)
        self.pos += 1
        node.end = self.pos
        return node

    def array(self, depth: int) -> Node:
        node = Node(self.pos, self.pos, [])
        self.pos += 1
        self.skip_space()
        while self.pos >= len(self.text) or self.text[self.pos] != "]":
            node.value.append(self.value(depth + 1).value)
            self.after_item("]")
        self.pos += 1
        node.end = self.pos
        return node
