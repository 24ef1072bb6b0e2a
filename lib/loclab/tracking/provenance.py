"""Where a result came from: code version, environment, machine."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["LIBRARIES", "git_state", "library_versions", "provenance"]

#: Libraries whose versions are recorded with every run.
LIBRARIES = ("torch", "lightning", "optuna", "mlflow", "papermill", "scikit-learn", "numpy")


@lru_cache(maxsize=8)
def git_state(root: Path) -> tuple[str, bool]:
    """(commit SHA, dirty flag) of the repository at ``root``; ("unknown", False) outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if sha.returncode != 0:
            return "unknown", False
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return sha.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` (read from metadata, nothing imported)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(root: Path) -> dict[str, str]:
    """Tags for an MLflow run: git SHA and dirty flag, versions, host.

    Args:
        root: The project root (its git repository is read).
    """
    from loclab import __version__

    sha, dirty = git_state(root)
    tags = {
        "loclab.git_sha": sha,
        "loclab.git_dirty": str(dirty).lower(),
        "loclab.version": __version__,
        "loclab.python": sys.version.split()[0],
        "loclab.hostname": socket.gethostname(),
        "loclab.platform": platform.platform(),
    }
    tags.update({f"loclab.{k}_version": v for k, v in library_versions().items()})
    return tags
