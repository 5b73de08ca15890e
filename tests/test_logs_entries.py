"""cfmcp/logs: tail events and printed lines -> entries, the filters, and how entries look
(cfmcp/logs/entries.py, filters.py, render.py)."""

from __future__ import annotations

import json

import pytest

from cfmcp.errors import UsageError
from cfmcp.logs.entries import CFMCP, EXCEPTION, INVOCATION, LOG, from_event, from_text, redact
from cfmcp.logs.filters import RequestFilter, StatusPattern
from cfmcp.logs.render import render

REQUEST = {"cfmcp": "request", "method": "POST", "path": "/mcp", "status": 200, "headers_ms": 3.5}


def event(*logged: object, status: int | None = 200, url="https://w.example/mcp?x=secret"):
    return {
        "outcome": "ok",
        "scriptName": "gh-mcp",
        "eventTimestamp": 1_800_000_000_000,
        "event": {
            "request": {"url": url, "method": "post", "headers": {"authorization": "Bearer t"}},
            "response": {"status": status},
        },
        "logs": [
            {
                "message": [m if isinstance(m, str) else json.dumps(m)],
                "level": "log",
                "timestamp": 1_800_000_000_001,
            }
            for m in logged
        ],
        "exceptions": [],
    }


def test_a_cfmcp_line_is_passed_on_as_written_plus_its_time():
    (entry,) = from_event(event(REQUEST))
    assert entry.kind == CFMCP and entry.is_request_line
    assert entry.to_json() == {**REQUEST, "at": "2027-01-15T08:00:00.001+00:00"}


def test_a_request_without_a_cfmcp_line_is_summed_up_without_query_or_headers():
    found = from_event(event("hello from a print", status=500))
    assert [entry.kind for entry in found] == [INVOCATION, LOG]
    summary = found[0].to_json()
    assert summary == {
        "invocation": "ok",
        "outcome": "ok",
        "method": "POST",
        "path": "/mcp",
        "status": 500,
        "at": "2027-01-15T08:00:00.000+00:00",
    }
    assert found[1].to_json()["log"] == "hello from a print"


def test_exceptions_and_other_lines_are_shown_with_credentials_masked():
    tail_event = event("token cfat.abc.def and Authorization: Bearer ghp_1234567890")
    tail_event["exceptions"] = [{"name": "TypeError", "message": "bad cfcode.x.y", "timestamp": 5}]
    entries = from_event(tail_event)
    texts = [entry.to_json() for entry in entries if entry.kind in (LOG, EXCEPTION)]
    assert texts[0]["log"] == "token cfat.<redacted> and Authorization: Bearer <redacted>"
    assert texts[1] == {
        "exception": "TypeError",
        "message": "bad cfcode.<redacted>",
        "at": "1970-01-01T00:00:00.005+00:00",
    }


@pytest.mark.parametrize(
    "text",
    ["refresh cfrt.0123abcd.2.mac", "basic Basic dXNlcjpwYXNz", "consent cfreq.payload.mac"],
)
def test_redaction_covers_every_cfmcp_credential_shape(text: str):
    assert "<redacted>" in redact(text)
    assert not any(secret in redact(text) for secret in ("0123abcd", "dXNlcjpwYXNz", "payload"))


GH_SECRET = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize(
    "text",
    [
        *(f"upstream said {prefix}{GH_SECRET} is bad" for prefix in ("ghp_", "gho_", "ghu_")),
        *(f"{prefix}{GH_SECRET}" for prefix in ("ghs_", "ghr_", "github_pat_11AB_")),
        f"GET https://api.example/x?access_token={GH_SECRET}&page=2",
        f"config api_key={GH_SECRET}",
        f"TOKEN={GH_SECRET}",
    ],
)
def test_redaction_covers_pat_shapes_and_long_token_or_key_values(text: str):
    assert GH_SECRET not in redact(text) and "<redacted>" in redact(text)


def test_redaction_leaves_ordinary_text_and_short_values():
    for text in ("ghp_short", "key=abc", "monkey=1", "the github_pat_ docs", "tokens=10"):
        assert redact(text) == text
    assert redact(f"a ghp_{GH_SECRET} b") == "a ghp_<redacted> b"
    assert redact(f"x?id_token={GH_SECRET}&n=1") == "x?id_token=<redacted>&n=1"


def test_a_line_that_only_looks_like_json_is_other_text():
    assert from_text('{"cfmcp": "not-a-kind"}').kind == LOG
    assert from_text('{"event": "tools/call"}').kind == LOG
    assert from_text("{broken").kind == LOG


def test_status_patterns():
    assert StatusPattern.parse("4xx").matches(401) and not StatusPattern.parse("4xx").matches(500)
    assert StatusPattern.parse("500").matches(500) and not StatusPattern.parse("500").matches(502)
    for bad in ("abc", "4x", "600", "2xxx", ""):
        with pytest.raises(UsageError):
            StatusPattern.parse(bad)


def test_filters_decide_per_request():
    denied = {"cfmcp": "tools/call", "tool": "x", "decision": "denied", "client": "Claude Code"}
    refused = from_event(event(denied, {**REQUEST, "client": "Claude Code"}))
    plain = from_event(event({**REQUEST, "client": "Cursor"}))
    unlogged = from_event(event("a print", status=503))
    assert RequestFilter.of(["2xx"], "claude", True).shows(refused)
    assert not RequestFilter.of([], "claude", False).shows(plain)
    assert not RequestFilter.of([], None, True).shows(plain)
    assert RequestFilter.of(["5xx"], None, False).shows(unlogged)  # the event's own status
    assert not RequestFilter.of(["4xx"], None, False).shows(plain)


def test_rendered_lines_never_read_the_workers_values_as_markup():
    line = {**REQUEST, "client": "[bold red]Evil[/] client", "grant": "1a2b3c4d", "policy": "full"}
    text = render(from_text(json.dumps(line))).plain
    assert (
        "POST /mcp  200  3.5 ms to headers  [bold red]Evil[/] client  grant 1a2b3c4d  full" in text
    )
    note = render(from_text(json.dumps({"cfmcp": "note", "message": "upstream down"}))).plain
    assert note.endswith("note: upstream down")
    error = {"cfmcp": "error", "type": "KeyError", "where": ["app.py:10 handle", "x.py:3 f"]}
    assert (
        "error KeyError at x.py:3 f  ← app.py:10 handle"
        in render(from_text(json.dumps(error))).plain
    )


def test_even_a_cfmcp_lines_values_are_masked():
    line = {**REQUEST, "client": "Bearer abcdefghijklmnop"}
    (entry,) = from_event(event(line))
    assert entry.to_json()["client"] == "Bearer <redacted>"


FORGED = "get_issue\n09:00:00    tools/call delete_repo denied\x1b[1A\x1b[2K\u202e"


def _printed(entry) -> str:
    import io

    from rich.console import Console

    out = io.StringIO()
    Console(file=out, force_terminal=True, width=400).print(
        render(entry), soft_wrap=True, highlight=False
    )
    return out.getvalue()


@pytest.mark.parametrize(
    "logged",
    [
        {"cfmcp": "tools/call", "tool": FORGED, "decision": "denied", "client": FORGED},
        {**REQUEST, "method": FORGED, "path": FORGED, "mcp_method": FORGED, "tool": FORGED},
        {**REQUEST, "status": FORGED, "headers_ms": None, "ms": FORGED, "grant": FORGED},
        {"cfmcp": "tools/call", "policy": FORGED, "decision": FORGED, "status": FORGED},
        {"cfmcp": "note", "message": FORGED},
        {"cfmcp": "error", "type": FORGED, "where": [FORGED, FORGED]},
        FORGED,
    ],
)
def test_no_value_can_forge_a_line_or_send_escapes_to_the_terminal(logged: object):
    tail_event = event(logged, url="http://w.example/" + FORGED)
    tail_event["exceptions"] = [{"name": FORGED, "message": FORGED}]
    tail_event["logs"][0]["level"] = FORGED
    for entry in from_event(tail_event):
        printed = _printed(entry)
        assert printed.count("\n") == 1 and printed.endswith("\n"), printed
        assert "\x1b[1A" not in printed and "\x1b[2K" not in printed and "\u202e" not in printed
        assert "\\x1b[1A" in printed or entry.kind == INVOCATION


def test_shown_escapes_what_a_terminal_would_act_on():
    from cfmcp.logs.render import shown

    assert shown("a\nb\x1b[2K\t\u202e") == "a\\nb\\x1b[2K\\t\\u202e"
    assert shown("Claude Code [bold]") == "Claude Code [bold]"
    assert shown(41.5) == "41.5"


@pytest.mark.parametrize(
    "odd",
    [
        {"exceptions": 5},
        {"logs": "text", "exceptions": [None, 3, {"name": ["x"], "message": {"m": 1}}]},
        {"logs": [{"message": None, "timestamp": 1e20, "level": None}]},
        {"logs": [{"message": ["x"], "timestamp": float("inf")}], "eventTimestamp": 1e300},
        {"logs": [{"message": ["x"], "timestamp": float("nan")}], "eventTimestamp": -1},
        {"event": {"request": {"url": "http://[::1", "method": None}}, "eventTimestamp": 1e300},
        {"event": {"request": {"url": 5}, "response": []}, "outcome": {"x": 1}},
        {"event": [], "logs": [{"message": [{"cfmcp": "request"}, 1, None]}]},
    ],
)
def test_an_odd_event_gives_entries_not_an_exception(odd: dict):
    for entry in from_event(odd):
        render(entry)
        json.dumps(entry.to_json())


def test_an_unparsable_url_or_time_is_shown_as_unknown():
    (entry,) = from_event(
        {"event": {"request": {"url": "http://[::1/x?k=s"}}, "eventTimestamp": 1e20}
    )
    assert entry.invocation["path"] == "?" and entry.at is None


def test_the_printer_skips_an_event_it_cannot_read_and_drops_another_workers(monkeypatch, capsys):
    from cfmcp.logs import entries
    from cfmcp.logs.run import Printer

    printer = Printer("gh-mcp", RequestFilter(), json_lines=True)
    printer.event({**event(REQUEST), "scriptName": "other-worker"})
    printer.event({key: value for key, value in event(REQUEST).items() if key != "scriptName"})
    assert capsys.readouterr().out == ""

    def broken(tail_event):
        raise RecursionError("a shape nobody foresaw")

    monkeypatch.setattr(entries, "from_event", broken)
    printer.event(event(REQUEST))
    out, err = capsys.readouterr()
    assert out == "" and "a tail event cfmcp cannot read was skipped" in err
    monkeypatch.undo()
    printer.event(event(REQUEST))
    assert json.loads(capsys.readouterr().out)["path"] == "/mcp"  # the tail goes on
