"""Pinned Client ID Metadata Documents of well-known MCP clients.

Live fetches of these documents from datacenter addresses are often answered with a bot
challenge, so the Worker serves these copies instead of fetching. They hold only what the
authorization server relies on (name, redirect URIs, auth method, grant types).
"""

from __future__ import annotations

PINNED_CLIENT_METADATA: dict[str, dict] = {
    "https://claude.ai/oauth/mcp-oauth-client-metadata": {
        "client_id": "https://claude.ai/oauth/mcp-oauth-client-metadata",
        "client_name": "Claude",
        "redirect_uris": [
            "https://claude.ai/api/mcp/auth_callback",
            "https://claude.com/api/mcp/auth_callback",
        ],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    },
    "https://claude.ai/oauth/claude-code-client-metadata": {
        "client_id": "https://claude.ai/oauth/claude-code-client-metadata",
        "client_name": "Claude Code",
        "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    },
    "https://vscode.dev/oauth/client-metadata.json": {
        "client_id": "https://vscode.dev/oauth/client-metadata.json",
        "client_name": "Visual Studio Code",
        "redirect_uris": ["http://127.0.0.1/", "https://vscode.dev/redirect"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    },
    # Codex CLI (`codex mcp login`). Written from public docs (DESIGN §2b, openai/codex issues
    # #30460 and PR #28585), not fetched: a public client whose loopback callback is
    # http://127.0.0.1:PORT/callback/<callback_id>, the id derived from the server URL, so
    # PINNED_LOOPBACK_PREFIXES allows any one-segment path below /callback/.
    "https://chatgpt.com/oauth/codex/client.json": {
        "client_id": "https://chatgpt.com/oauth/codex/client.json",
        "client_name": "Codex",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    },
}

# Loopback redirect path prefixes a pinned document's client may use (any port, one segment).
PINNED_LOOPBACK_PREFIXES: dict[str, tuple[str, ...]] = {
    "https://chatgpt.com/oauth/codex/client.json": (
        "http://127.0.0.1/callback/",
        "http://localhost/callback/",
    ),
}
