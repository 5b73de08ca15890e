"""`cfmcp doctor`: independent checks of the project, the account and the live Worker.

Each check returns a `CheckResult` (ok / warn / fail / skip, a one-line reason, a hint and the
command that fixes it). The checks run concurrently and share lookups through a
`DoctorContext`, so each Cloudflare or HTTP call is made at most once.

model.py           Check, CheckResult, Skip, and the one next command of a run
context.py         DoctorContext: the shared lookups, each made once
project_checks.py, account_checks.py, live_checks.py   the checks; checks.py lists them in order
run.py             run_doctor(): run them concurrently, report (report.py: table or JSON)
"""

from __future__ import annotations

from cfmcp.doctor.model import CheckResult, Skip, Status

__all__ = ["CheckResult", "Skip", "Status"]
