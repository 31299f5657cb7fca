"""A small tmpfs the tests fill: a full disk, made on purpose and unmounted after the test."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

DISK_MB = 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    # Root mounts directly; anyone else through passwordless sudo (as CI's apt-get does),
    # with the tmpfs owned by the user running the tests.
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    options = f"size={DISK_MB}m,uid={os.getuid()},gid={os.getgid()}"
    cmd = [*sudo, "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (needs root or sudo): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run([*sudo, "umount", "-l", str(mount)], check=False)


def fill(path: Path) -> int:
    """Write `path` until the filesystem refuses another byte; returns the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    written += fh.write(block) or 0
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written
