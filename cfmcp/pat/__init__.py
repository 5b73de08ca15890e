"""PAT custody: does the upstream accept the PAT, and when does it expire?

verdict.py   PatVerdict (accepted / refused / unchecked), the expiry header and how it is said
probe.py     check_pat(): one authenticated request to the upstream that proves the PAT works
record.py    the Worker's record of what the upstream last said of its PAT (KV `upstream:pat`)

The PAT itself is never kept, printed or returned: only what the upstream said of it.
"""
