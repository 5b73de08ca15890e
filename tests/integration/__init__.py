"""Integration tests: real servers on 127.0.0.1 and real MCP clients against the Worker."""
