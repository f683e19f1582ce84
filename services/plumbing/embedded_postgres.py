"""An embedded PostgreSQL (pgserver) for `make run` and `make test` when DATABASE_URL is unset.

pgserver runs the server as its own unprivileged user, so the data folder must sit
where that user can reach it; the server stops when this process exits.
"""

import hashlib
import os
import stat
import tempfile
from pathlib import Path


def _reachable_by_others(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def data_folder(preferred: Path) -> Path:
    """`preferred` when the server's user can reach it, else a folder of the same name under /tmp."""
    preferred = preferred.resolve()
    if _reachable_by_others(preferred.parent):
        preferred.parent.mkdir(parents=True, exist_ok=True)
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()) / f"sp4n-{preferred.name}-{digest}"
    fallback.parent.mkdir(parents=True, exist_ok=True)
    return fallback


def start(preferred: Path) -> str:
    """Starts (or reuses) an embedded server with its data in `preferred`; returns its URI."""
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="sp4n-runtime-"))  # private, 0700
    import pgserver  # imported late: only needed without DATABASE_URL

    folder = data_folder(preferred)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    return server.get_uri()
