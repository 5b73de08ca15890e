"""The Worker as the CLI sees it.

contract.py  every name shared with the Worker (bindings, secrets, the bundle header, KV keys)
render.py    render_bundle(): worker_template/ + cfmcp.toml -> the modules uploaded
smoke.py     SmokeTester: HTTP checks of a deployed (or local) Worker
"""
