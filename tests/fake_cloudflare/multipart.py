"""A strict multipart/form-data parser (enough for Worker uploads and KV value writes)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from .envelope import ApiError


@dataclass
class Part:
    """One form-data part."""

    name: str
    filename: str | None
    content_type: str | None
    content: bytes


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    msg = Message()
    msg["content-type"] = value
    params = {k.lower(): v for k, v in (msg.get_params() or [])[1:]}
    return value.split(";")[0].strip().lower(), params


def boundary_of(content_type: str) -> str | None:
    """The boundary of a ``multipart/form-data`` content type, or None if it is not one."""
    main, params = _header_params(content_type)
    if main != "multipart/form-data":
        return None
    return params.get("boundary") or None


def _parse_part(raw: bytes) -> Part:
    head, sep, content = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ApiError(400, 10021, "Malformed multipart part: no header/body separator")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise ApiError(400, 10021, f"Malformed multipart header line: {line!r}")
        headers[key.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise ApiError(400, 10021, "Multipart part without Content-Disposition")
    msg = Message()
    msg["content-disposition"] = disposition
    name = msg.get_param("name", header="content-disposition")
    filename = msg.get_param("filename", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise ApiError(400, 10021, "Multipart part without a name")
    return Part(
        name=name,
        filename=filename if isinstance(filename, str) else None,
        content_type=headers.get("content-type"),
        content=content,
    )


def parse(body: bytes, boundary: str) -> list[Part]:
    """Split ``body`` into parts; a body that is not well-formed multipart is a 400."""
    delimiter = b"--" + boundary.encode()
    if not body.startswith(delimiter):
        raise ApiError(400, 10021, "Malformed multipart body: does not start with the boundary")
    chunks = body.split(b"\r\n" + delimiter)
    first = chunks[0][len(delimiter) :]
    if not first.startswith(b"\r\n"):
        raise ApiError(400, 10021, "Malformed multipart body after the first boundary")
    chunks[0] = first
    parts: list[Part] = []
    for index, chunk in enumerate(chunks):
        if chunk.startswith(b"--"):
            if index == 0:
                raise ApiError(400, 10021, "Multipart body has no parts")
            return parts
        if not chunk.startswith(b"\r\n"):
            raise ApiError(400, 10021, "Malformed multipart boundary line")
        parts.append(_parse_part(chunk[2:]))
    raise ApiError(400, 10021, "Multipart body is missing its closing boundary")
