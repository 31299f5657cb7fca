"""The `hub` command as an operator runs it: this venv's entry point, an environment without
the developer's HUB_ settings, one command run to the end."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

HUB = str(Path(sys.executable).parent / "hub")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {**env, **extra}


async def run_hub(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        HUB, *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode(), err.decode()
