"""The Cloudflare account, as every command reaches it.

api.py       CloudflareApi: the one gateway to the API (typed results, errors with a hint)
session.py   the API token, CLOUDFLARE_API_BASE_URL and the account id, read once
ours.py      each ownership rule once: our Worker, our KV namespace, a hostname's zone
grants.py    the Worker's grants in its KV namespace: list, revoke (`cfmcp clients`)
teardown.py  find and delete what deploy created (`cfmcp destroy`)
rotation.py  set a new PIN / signing key on the deployed Worker (`cfmcp rotate-pin`)
"""
