"""The directories Tiller writes to (its home, the search index): checked before use, so a missing
permission or a read-only disk is one line naming the path and the fix, never a traceback or a
misleading database hint."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from agent.errors import StorageUnwritable

_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST}


def directory_problem(path: Path) -> str | None:
    """Why files cannot be created in ``path`` (created if missing), or ``None``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    if not path.is_dir():
        return "is not a directory"
    try:
        handle, probe = tempfile.mkstemp(dir=path, prefix=".tiller-write-check-")
    except OSError as exc:
        return f"is not writable ({exc.strerror or exc})"
    os.close(handle)
    os.unlink(probe)
    return None


def require_writable(path: Path, what: str, fix: str) -> None:
    """Raise ``StorageUnwritable`` naming ``path`` unless files can be created in it."""
    problem = directory_problem(path)
    if problem is not None:
        raise StorageUnwritable(f"{what} {path} {problem}. {fix}")


def home_fix(path: Path, database_in_home: bool) -> str:
    """What to do about a home directory Tiller cannot write."""
    where = " (TILLER_DATABASE_URL is not set, so the database is kept there too)" if database_in_home else ""
    existing = next((p for p in (path, *path.parents) if exists(p)), path)
    return (
        f"Give this user write access to {existing} (e.g. `chmod u+rwx {existing}`), or set TILLER_HOME to a "
        f"writable directory{where}."
    )


def exists(path: Path) -> bool:
    """``path.exists()``, false where a parent cannot be searched (instead of raising)."""
    try:
        return path.exists()
    except OSError:  # a parent this user cannot search
        return False


def is_permission_error(exc: OSError) -> bool:
    """A file-system refusal (permission, read-only disk, a file where a directory should be)."""
    return exc.errno in _DENIED


def readable_file(path: Path) -> bool:
    """``path`` is a file this user can read (``False`` when a parent cannot even be searched)."""
    try:
        return path.is_file() and os.access(path, os.R_OK)
    except OSError:
        return False
