"""The options several commands share, declared once (Typer `Annotated` aliases).

Use as `json_output: JsonOption = False`; the parameter names matter: `cli.py` reads
`json_output` to print failures as JSON and `verbose` to show each Cloudflare API call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SMOKE_VIA_ENV = "CFMCP_SMOKE_VIA"
DEFAULT_CONFIG = Path("cfmcp.toml")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Project file.")]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print JSON on stdout (never a secret); a failure is {"ok": false, "error", '
        '"code", "hint"}.',
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        envvar="CFMCP_VERBOSE",
        help="Show each Cloudflare API call on stderr: method, path, status, time (never a "
        "token, a secret, a header or a body).",
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Do not ask: no confirmation and no prompt (values from the environment, or "
        "generated).",
    ),
]
SmokeViaOption = Annotated[
    str,
    typer.Option(
        "--smoke-via",
        envvar=SMOKE_VIA_ENV,
        help="Send the live checks to this origin instead of the public URL (values are still "
        "compared with the public URL).",
    ),
]
