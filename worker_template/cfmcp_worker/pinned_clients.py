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
}
