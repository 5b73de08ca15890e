"""Find what `cfmcp dev --runtime workerd` needs: node, the miniflare package, Pyodide caches.

miniflare (npm) brings workerd, Cloudflare's Workers runtime, as its `workerd` dependency.
Looked up in this order: the `--miniflare-dir` option / `CFMCP_MINIFLARE_DIR` (a node_modules
folder or the package folder itself), the checkout's `tests/node/node_modules` (what
`scripts/test` installs), `./node_modules`, then `npm root -g`.

workerd downloads its Pyodide runtime bundle at start-up. Offline, a disk cache holding
`bundle/` (and `packages/`) stands in: `--pyodide-cache` / `CFMCP_PYODIDE_CACHE_DIR`, else a
`shared/workerd/` found upward from the working directory or from this package. workerd only
reads these caches, so a read-only directory is fine. With none, workerd downloads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cfmcp.errors import CfmcpError, UsageError

MINIFLARE_PACKAGE = "miniflare"
MINIFLARE_VERSION = "4.20260120.0"  # brings workerd 1.20260120.0, the runtime tested here
MIN_NODE_MAJOR = 18  # miniflare's engines field
ENV_MINIFLARE_DIR = "CFMCP_MINIFLARE_DIR"
ENV_PYODIDE_CACHE = "CFMCP_PYODIDE_CACHE_DIR"
INSTALL_HINT = f"npm install -g {MINIFLARE_PACKAGE}@{MINIFLARE_VERSION}"
RUNNER = Path(__file__).resolve().parent / "runner.mjs"
_CHECKOUT = Path(__file__).resolve().parents[3]  # the repository, for an editable install
_NPM_ROOT_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class WorkerdSetup:
    """Where everything is; `pyodide_cache` None lets workerd download its bundle."""

    node: str
    miniflare_dir: Path
    miniflare_version: str
    pyodide_cache: Path | None


def find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise CfmcpError(
            f"--runtime workerd needs Node.js {MIN_NODE_MAJOR}+ on PATH and the npm "
            f"package {MINIFLARE_PACKAGE}@{MINIFLARE_VERSION}: install Node.js, "
            f"then `{INSTALL_HINT}` (or drop --runtime workerd)"
        )
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = ""
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        raise CfmcpError(
            f"--runtime workerd needs Node.js {MIN_NODE_MAJOR}+, but {node} is "
            f"{version or 'not runnable'}: install a newer Node.js"
        )
    return node


def _package_in(folder: Path) -> Path | None:
    """`folder` itself when it is the miniflare package, or its node_modules/miniflare."""
    for candidate in (
        folder,
        folder / MINIFLARE_PACKAGE,
        folder / "node_modules" / MINIFLARE_PACKAGE,
    ):
        manifest = candidate / "package.json"
        if manifest.is_file():
            try:
                name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
            except (OSError, ValueError):
                continue
            if name == MINIFLARE_PACKAGE:
                return candidate
    return None


def _npm_global_root() -> Path | None:
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        out = subprocess.run(
            [npm, "root", "-g"],
            capture_output=True,
            text=True,
            timeout=_NPM_ROOT_TIMEOUT_SECONDS,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out) if out else None


def find_miniflare(given: Path | None = None) -> Path:
    """The miniflare package directory (see the module docstring for the search order)."""
    given = given or (
        Path(os.environ[ENV_MINIFLARE_DIR]) if os.environ.get(ENV_MINIFLARE_DIR) else None
    )
    if given is not None:
        found = _package_in(given.expanduser())
        if found is None:
            raise CfmcpError(
                f"no npm package {MINIFLARE_PACKAGE} in {given} (--miniflare-dir or "
                f"{ENV_MINIFLARE_DIR}): name the node_modules folder where "
                f"`npm install {MINIFLARE_PACKAGE}@{MINIFLARE_VERSION}` put it"
            )
        return found
    for folder in (_CHECKOUT / "tests" / "node" / "node_modules", Path.cwd() / "node_modules"):
        found = _package_in(folder)
        if found is not None:
            return found
    root = _npm_global_root()
    found = _package_in(root) if root is not None else None
    if found is None:
        raise CfmcpError(
            f"--runtime workerd needs the npm package {MINIFLARE_PACKAGE}"
            f"@{MINIFLARE_VERSION} (it brings workerd): `{INSTALL_HINT}`, or set "
            f"{ENV_MINIFLARE_DIR} to the node_modules folder holding it"
        )
    return found


def _is_cache(folder: Path) -> bool:
    return (folder / "bundle").is_dir()


def find_pyodide_cache(given: Path | None = None) -> Path | None:
    """The Pyodide disk cache (holding bundle/ and packages/), or None: workerd downloads."""
    given = given or (
        Path(os.environ[ENV_PYODIDE_CACHE]) if os.environ.get(ENV_PYODIDE_CACHE) else None
    )
    if given is not None:
        given = given.expanduser().resolve()
        if not _is_cache(given):
            raise UsageError(
                f"{given} holds no bundle/ folder (from --pyodide-cache or "
                f"{ENV_PYODIDE_CACHE}): name the folder holding bundle/ and packages/"
            )
        return given
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "workerd"
            if _is_cache(candidate):
                return candidate
    return None


def miniflare_version(package_dir: Path) -> str:
    try:
        data = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown"
    return str(data.get("version", "unknown"))


def locate(miniflare_dir: Path | None = None, pyodide_cache: Path | None = None) -> WorkerdSetup:
    """Everything the runner needs, or a one-line CfmcpError saying how to get it."""
    node = find_node()
    package = find_miniflare(miniflare_dir)
    return WorkerdSetup(
        node=node,
        miniflare_dir=package,
        miniflare_version=miniflare_version(package),
        pyodide_cache=find_pyodide_cache(pyodide_cache),
    )
