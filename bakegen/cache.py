"""Where bakegen keeps caches between runs: compiled templates, parsed lock files.

Caches only save time: every entry is keyed by the content it was made
from, and a cache folder that cannot be created or written is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path | None:
    """$BAKEGEN_CACHE_DIR/KIND, else $XDG_CACHE_HOME/bakegen/KIND, else ~/.cache/bakegen/KIND."""
    base = os.environ.get("BAKEGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bakegen")
    folder = Path(base, kind)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
