"""cfmcp test suite."""
