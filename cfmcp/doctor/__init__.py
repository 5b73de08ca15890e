"""`cfmcp doctor`: independent checks of the project, the account and the live Worker.

Each check returns a `CheckResult` (ok / warn / fail / skip, a one-line reason, a hint and the
command that fixes it). The checks run concurrently and share lookups through a
`DoctorContext`, so each Cloudflare or HTTP call is made at most once.
"""

from __future__ import annotations

from cfmcp.doctor.model import CheckResult, Skip, Status

__all__ = ["CheckResult", "Skip", "Status"]
