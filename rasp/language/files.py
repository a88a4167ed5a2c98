"""Every file the tool writes is written atomically: to a temporary file beside the target,
then renamed over it. A reader sees the old file or the whole new one; a write that fails (a
full disk, a kill) leaves the old file as it was and no temporary file behind, and an OSError
is a clear error naming the file."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from grammar.errors import RaspError


@contextmanager
def atomic_file(path: str | Path, mode: str = "w", **options) -> Iterator[IO]:
    """`open(path, mode)` for writing, atomically (see above)."""
    target = Path(path)
    try:
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as e:
        raise RaspError(f"cannot write {target}: {e.strerror}") from None
    try:
        with os.fdopen(handle, mode, **options) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would have made it
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise RaspError(f"cannot write {target}: {e.strerror}; the previous file, if any, is unchanged") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(text)


def save_figure(fig, path: str | Path, **options) -> None:
    """A matplotlib figure, atomically, in the format its file name says."""
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format=Path(path).suffix.lstrip(".") or "png", **options)
