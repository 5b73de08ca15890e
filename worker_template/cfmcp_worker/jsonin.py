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
# A JSON string, escapes included, as an unrolled loop (runs of plain bytes are matched at once;
# linear: no backtracking, each byte belongs to exactly one part).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


class JsonInputError(ValueError):
    """A JSON body that is not parsed: too large, nested too deeply, not UTF-8 or not JSON."""


def check_depth(data: bytes, max_depth: int) -> None:
    """Raise JsonInputError if `data` (UTF-8) nests arrays/objects deeper than `max_depth`.

    Strings are cut out and every byte but brackets dropped (both at C speed: a 128 KiB tool
    list costs well under a millisecond), then the brackets are counted. Only ASCII bytes
    matter, and in UTF-8 they never occur inside a multi-byte character; an unterminated
    string is not cut out, which can only make the count higher.
    """
    depth = 0
    for byte in _STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if byte in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise JsonInputError(f"JSON nested more than {max_depth} levels deep")
        else:
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
