"""The transport probe `cfmcp init` and `doctor` use, against real SDK servers of each kind."""

from __future__ import annotations

import httpx

from cfmcp.local.demo import build_demo_server
from cfmcp.transport import detect_transport, guess_from_url, probe_transport
from tests.integration.upstream import ThreadedServer


def test_streamable_http_and_legacy_sse_upstreams_are_told_apart() -> None:
    with ThreadedServer(build_demo_server().streamable_http_app()) as streamable:
        assert detect_transport(f"{streamable.origin}/mcp") == "streamable-http"
    with ThreadedServer(build_demo_server().sse_app()) as legacy:
        assert detect_transport(f"{legacy.origin}/sse") == "sse"
        with httpx.Client(timeout=5) as http:  # its message path is not an SSE endpoint
            assert probe_transport(http, f"{legacy.origin}/messages/") is None


def test_without_an_answer_the_url_decides() -> None:
    assert guess_from_url("https://mcp.linear.app/sse") == "sse"
    assert guess_from_url("https://api.githubcopilot.com/mcp/") == "streamable-http"
    assert detect_transport("http://127.0.0.1:9/sse", timeout=1) == "sse"


def test_doctor_warns_when_the_config_names_the_other_transport() -> None:
    from types import SimpleNamespace

    from cfmcp.doctor.live_checks import check_upstream
    from cfmcp.project.config import ProjectConfig

    with ThreadedServer(build_demo_server().sse_app()) as legacy, httpx.Client(timeout=5) as http:
        config = ProjectConfig()
        config.upstream.url = f"{legacy.origin}/sse"
        ctx = SimpleNamespace(upstream_config=lambda: config.upstream, http=http, local=False)
        result = check_upstream(ctx)
        assert result.status == "warn" and 'transport = "sse"' in result.hint
        config.upstream.transport = "sse"
        assert check_upstream(ctx).status == "ok"


def test_config_accepts_only_the_two_transports() -> None:
    import pytest

    from cfmcp.errors import CfmcpError
    from cfmcp.project.config import ProjectConfig

    config = ProjectConfig()
    config.upstream.transport = "websocket"
    with pytest.raises(CfmcpError, match="invalid upstream transport"):
        config.validate()
