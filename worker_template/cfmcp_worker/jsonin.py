"""JSON from outside (a registration body, a fetched metadata document), bounded first.

`json.loads` recurses once per nesting level. In the Workers runtime (Pyodide) a body nested
a few thousand levels deep overflows the WebAssembly stack before Python's recursion limit is
reached, and the isolate is dead for good (every later request answers 500). So the size and
the nesting depth are checked on the raw bytes first, by a scanner that skips strings and
never recurses; only then is the text parsed.
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 16  # client metadata nests 3 levels deep at most (jwks → keys → key)
_TOKENS = re.compile(rb'["\\\[\]{}]')
_QUOTE, _BACKSLASH, _OPENERS, _CLOSERS = 0x22, 0x5C, (0x5B, 0x7B), (0x5D, 0x7D)


class JsonInputError(ValueError):
    """A JSON body that is not parsed: too large, nested too deeply, not UTF-8 or not JSON."""


def check_depth(data: bytes, max_depth: int) -> None:
    """Raise JsonInputError if `data` (UTF-8) nests arrays/objects deeper than `max_depth`.

    Only ASCII bytes matter, and in UTF-8 they never occur inside a multi-byte character.
    """
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _TOKENS.finditer(data):
        at = match.start()
        if at == escaped_at:
            continue
        byte = data[at]
        if in_string:
            if byte == _BACKSLASH:
                escaped_at = at + 1
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise JsonInputError(f"JSON nested more than {max_depth} levels deep")
        elif byte in _CLOSERS:
            depth -= 1


def loads_bounded(data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> object:
    """Parse `data` as JSON after checking its size, encoding and nesting depth."""
    if len(data) > max_bytes:
        raise JsonInputError(f"JSON larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonInputError("JSON is not UTF-8") from None
    check_depth(data, max_depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise JsonInputError("not valid JSON") from None
