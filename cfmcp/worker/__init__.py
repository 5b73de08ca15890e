"""The Worker as the CLI sees it.

contract.py  every name shared with the Worker (bindings, secrets, the bundle header, KV keys)
smoke.py     SmokeTester: HTTP checks of a deployed (or local) Worker

Rendering the bundle is still `cfmcp.render` (to move here next).
"""
