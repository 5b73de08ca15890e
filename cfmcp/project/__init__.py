"""The user's folder: what cfmcp reads and writes next to `cfmcp.toml`.

state.py    .cfmcp/state.json: what the last deploy created (ids only; it only saves calls)
secrets.py  the Worker's secret values from the environment or a prompt
setup.py    `cfmcp init`: ask, check, write cfmcp.toml

cfmcp.toml itself is still `cfmcp.config`, the PIN rules `cfmcp.pin` (to move here next).
"""
