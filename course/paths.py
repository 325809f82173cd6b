"""How the kit's commands show a path to the user."""

from __future__ import annotations

from pathlib import Path


def show_path(path: str | Path) -> str:
    """Return ``path`` relative to the working directory when it lies below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
