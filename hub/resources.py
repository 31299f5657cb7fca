"""Find bundled files from the installed code, never from the current directory."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    # A wheel carries them under hub/_bundled/; an editable install runs from the repo.
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the hub's {name}/ folder is missing from the installation")


def migrations_dir() -> Path:
    return _bundled("migrations")


def templates_dir() -> Path:
    return _bundled("templates")


def static_dir() -> Path:
    return _PACKAGE / "web" / "static"
