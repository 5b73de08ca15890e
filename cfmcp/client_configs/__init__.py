"""`cfmcp install-client`: how each MCP client is pointed at a cfmcp Worker.

- `hosts`: every client, its config file (path, format, where servers live) and entry;
- `jsonc`: a JSON reader that also takes comments and trailing commas where a host does;
- `json_edit` / `toml_edit`: put one entry into a config file by editing its text, verified;
- `files`: reading and atomically replacing a config file;
- `install`: the command itself (show, or merge with `--write`).
"""
