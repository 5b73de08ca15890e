"""Parsing of query strings and form bodies, refusing repeated parameters (RFC 6749 §3.1)."""

from __future__ import annotations

from urllib.parse import parse_qsl

MAX_FORM_BYTES = 16 * 1024


class FormError(ValueError):
    """A query or form that cannot be used."""


def parse_params(text: str) -> dict[str, str]:
    if len(text) > MAX_FORM_BYTES:
        raise FormError("request too large")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except ValueError:
        raise FormError("too many parameters") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise FormError(f"parameter '{key}' is repeated")
        params[key] = value
    return params


def parse_form_body(body: bytes, content_type: str | None) -> dict[str, str]:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise FormError("expected application/x-www-form-urlencoded")
    if len(body) > MAX_FORM_BYTES:
        raise FormError("request too large")
    try:
        return parse_params(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise FormError("form is not UTF-8") from None
