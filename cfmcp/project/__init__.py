"""The user's folder: what cfmcp reads and writes next to `cfmcp.toml`.

config.py   cfmcp.toml: the typed model, loading, validation, writing
state.py    .cfmcp/state.json: what the last deploy created (ids only; it only saves calls)
secrets.py  the Worker's secret values from the environment or a prompt; PIN rules
setup.py    `cfmcp init`: ask, check, write cfmcp.toml
"""
