"""Where outputs go: checked before any work, written under temporary names, and every write
failure told as one line naming the file it was for.

Run folders, reports and sweep pages are built under temporary names that carry the writing
process's id (`.<name>.partial-<pid>`, `.report-<pid>`, `.<name>.<pid>.tmp`) and renamed into
place when complete. A process that is killed leaves its temporary behind; the next writer
into the same folder removes those whose process no longer exists.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedcut.core.errors import FedcutError

TEMPORARY = re.compile(r"\..+\.partial-(?P<a>\d+)|\.report-(?P<b>\d+)|\..+\.(?P<c>\d+)\.tmp")


def check_new_folder(out: Path, refusal: str, label: str = "") -> None:
    """Refuse, before any work, an output folder that exists (`refusal` says what to do instead;
    `label` names the option that chose it) or that cannot be created where it is asked for;
    the message names the real location."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise FedcutError(f"{label + ' ' if label else ''}{out}: already exists; {refusal}")
    check_can_create_in(out.parent, f"so {out} cannot be written")


def check_can_create_in(folder: Path, consequence: str) -> None:
    """Refuse a folder in which no folder can be created: it, or its nearest existing ancestor,
    is not a folder or does not let this process create anything (tried, not guessed)."""
    place = Path(folder)
    while not (place.exists() or place.is_symlink()) and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise FedcutError(f"{place}: not a folder, {consequence}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".fedcut-probe-", dir=place))
    except OSError as exc:
        raise FedcutError(f"{place}: cannot create anything there ({exc.strerror or exc}), {consequence}") from None


def free_name(out: Path) -> Path:
    """`out` if nothing has that name, else the first free `out-2`, `out-3`, ..."""
    out = Path(out)
    candidate, n = out, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    return candidate


def own_folder(folder: Path) -> Path:
    """`folder`, made if absent; refused if it is a symbolic link or not a folder, since writing
    into it would write wherever it points."""
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FedcutError(f"{folder}: {'a symbolic link' if folder.is_symlink() else 'not a folder'}; "
                          "fedcut writes only into folders it made")
    with writing(folder):
        folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Let an OSError while writing `path` (a full disk, a read-only folder) out as one
    FedcutError naming the file, also when the operating system did not name it."""
    try:
        yield
    except OSError as exc:
        raise FedcutError(f"{exc.filename or path}: cannot write ({exc.strerror or exc})") from None


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporaries in `folder` of processes that no longer run (see the module's doc)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return
    for entry in folder.iterdir():
        found = TEMPORARY.fullmatch(entry.name)
        if not found:
            continue
        pid = int(next(v for v in found.groupdict().values() if v is not None))
        if _running(pid):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as existing)."""
    if pid < 1 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # no process can have such an id
        return False
    return True
