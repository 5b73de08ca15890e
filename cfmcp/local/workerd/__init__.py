"""`cfmcp dev --runtime workerd`: the rendered bundle in workerd, Cloudflare's Workers runtime.

`locate` finds node, miniflare (which brings workerd) and the Pyodide caches; `process` runs
`runner.mjs` (miniflare) with the secrets on a pipe; `serve` keeps it running next to the
demo upstream until Ctrl-C.
"""
