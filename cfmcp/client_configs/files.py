"""Reading and atomically replacing a client's config file, byte for byte.

Files are read as bytes and decoded as UTF-8 (CRLF line endings and a BOM stay as they are).
A write goes to a temporary file beside the target, is flushed to disk and then renamed over
it, so a crash leaves the old file or the new one, never half of one. The target keeps its
permission bits, and a symlinked config (dotfiles) is written through to the file it points
at. No backup is left behind: the edit changes only the one entry, and the edited text was
parsed back and compared with the intended merge before anything was written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cfmcp.errors import ClientConfigError


def read_config(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClientConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientConfigError(
            f"{path} is not UTF-8 text", hint="fix or move the file, then run this again"
        ) from None


def write_config(path: Path, text: str) -> Path:
    """Replace `path` with `text` atomically; returns the file actually written."""
    target = path.resolve() if path.is_symlink() else path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ClientConfigError(f"cannot write {target}: {exc.strerror}") from None
    return target


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
