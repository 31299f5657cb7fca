"""Child processes of a benchmark: spawned in their own session, stopped by pid, and work
run in a spawned Python process so it has a core and an event loop of its own."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
# collapsed stacks; sampled without pausing the process, 100 times a second
PY_SPY = ["--format", "raw", "--nonblocking", "--rate", "100"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: only the process we started, by its pid."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def spawn(
    cmd: list[str], log_path: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a child with stdout+stderr to a log file, in its own session (Ctrl+C reaches
    only this script, which then stops the child itself)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def wait_port(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    """Until something listens on `port`; fails if `proc` exits first or at `deadline`."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.02)
    raise RuntimeError(f"nothing listening on {HOST}:{port} in time")


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def hub_exe() -> list[str]:
    """The `hub` command of this venv (or PATH, or `python -m hub`)."""
    script = Path(sys.executable).parent / "hub"
    if script.is_file():
        return [str(script)]
    found = shutil.which("hub")
    return [found] if found else [sys.executable, "-m", "hub"]


def hub_cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """One `hub` command (migrate, operator create, token create...) to completion; its
    stdout, or an error with the end of its stderr."""
    done = subprocess.run(
        [*hub_exe(), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    return done.stdout


def pids_of(program: str, needle: str) -> list[int]:
    """Processes whose command line names `program` and contains `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                title = (entry / "comm").read_text()
                if program in cmdline + title and needle in cmdline:
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def py_spy_records(pids: list[int], folder: Path | None, name: str) -> Iterator[list[Path]]:
    """py-spy samples each process while the body runs (collapsed stacks, one file a
    process, in `folder`); nothing when `folder` is None. py-spy runs beside the hub, so its
    own CPU is not the hub's; --nonblocking keeps it from pausing the hub to sample."""
    exe = Path(sys.executable).parent / "py-spy"
    if folder is None:
        yield []
        return
    if not exe.is_file():
        raise RuntimeError("--profile needs py-spy in the venv: .venv/bin/pip install py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    outputs = [folder / f"{name}-{n}.txt" for n in range(len(pids))]
    spies = [
        spawn(
            [str(exe), "record", "--pid", str(pid), *PY_SPY, "--output", str(out)],
            out.with_suffix(".log"),
        )
        for pid, out in zip(pids, outputs, strict=True)
    ]
    try:
        yield outputs
    finally:
        for spy in spies:  # SIGINT: py-spy writes what it sampled, then exits
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
        for spy in spies:  # writing takes a moment; SIGTERM would lose the samples
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
            stop_process(spy)


Work = Callable[[Any], Coroutine[Any, Any, dict[str, Any]]]


def _child_entry(conn: Any, work: Work, spec: Any, cpu_key: str) -> None:
    """Body of a child process: run `work(spec)`, send its result (or the traceback) back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us; no traceback spam
    try:
        result = asyncio.run(work(spec))
        result[cpu_key] = time.process_time()  # imports and set-up included
        conn.send(result)
    except BaseException:
        conn.send({"failure": traceback.format_exc()})
    finally:
        conn.close()


async def in_own_process(work: Work, spec: Any, cpu_key: str, what: str) -> dict[str, Any]:
    """`work(spec)` in a spawned process, so it has a core of its own and shares no event
    loop with what it measures; its result, with its process CPU under `cpu_key`."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_entry, args=(child, work, spec, cpu_key), daemon=True)
    proc.start()
    child.close()
    try:
        result: dict[str, Any] = await asyncio.to_thread(parent.recv)
    except EOFError:
        raise RuntimeError(f"the {what} died (exit code {proc.exitcode})") from None
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        parent.close()
    if "failure" in result:
        raise RuntimeError(f"the {what} failed:\n" + result["failure"])
    return result
