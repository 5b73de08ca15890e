"""Reading and atomically replacing a client's config file, byte for byte.

Files are read as bytes and decoded as UTF-8 (CRLF line endings and a BOM stay as they are).
A write goes to a temporary file beside the target, is flushed to disk and then renamed over
it, so a crash leaves the old file or the new one, never half of one. The target keeps its
permission bits, and a symlinked config (dotfiles) is written through to the file it points
at. No backup is left behind: the edit changes only the one entry, and the edited text was
parsed back and compared with the intended merge before anything was written.

A read-only target is refused, not replaced, and so is a target that another program changed
(or created) since it was read: its bytes are compared again just before the rename.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cfmcp.errors import ClientConfigError

_AGAIN = "run this again (nothing was changed)"


def read_config(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    data = _read_bytes(path)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientConfigError(
            f"{path} is not UTF-8 text", hint="fix or move the file, then run this again"
        ) from None


def write_config(path: Path, text: str, original: str | None) -> Path:
    """Replace `path` with `text` atomically; returns the file actually written.

    `original` is what `read_config` returned: the write is refused when the file no longer
    holds exactly that (None: the file must still not exist).
    """
    target = path.resolve() if path.is_symlink() else path
    data = _encoded(text, target)
    _check_writable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            _check_unchanged(target, original)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ClientConfigError(f"cannot write {target}: {exc.strerror}") from None
    return target


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClientConfigError(f"cannot read {path}: {exc.strerror}") from None


def _encoded(text: str, target: Path) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ClientConfigError(
            f"the entry for {target} cannot be written as UTF-8",
            hint="pass --name and --url as plain text",
        ) from None


def _check_writable(target: Path) -> None:
    """Refuse a read-only target, or a folder that cannot be created or written."""
    if target.exists():
        mode = target.stat().st_mode
        # access() is true for root whatever the mode, so the write bits are checked as well
        if not os.access(target, os.W_OK) or not mode & 0o222:
            raise ClientConfigError(
                f"{target} is read-only, so it was not replaced",
                hint="make it writable (or add the entry by hand), then " + _AGAIN,
            )
        return
    folder = _nearest_existing(target.parent)
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ClientConfigError(
            f"cannot create {target}: {folder} is not a writable folder",
            hint="fix the folder's permissions (or add the entry by hand), then " + _AGAIN,
        )


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def _check_unchanged(target: Path, original: str | None) -> None:
    """Refuse when another program changed the file since it was read."""
    now = _read_bytes(target)
    expected = None if original is None else original.encode("utf-8")
    if now != expected:
        raise ClientConfigError(
            f"{target} changed while cfmcp was editing it, so it was not replaced",
            hint=_AGAIN[0].upper() + _AGAIN[1:],
        )


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
