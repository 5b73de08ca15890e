"""cfmcp: an OAuth 2.1 front door for PAT-only MCP servers, as a Python Cloudflare Worker."""

__version__ = "0.1.0"
