"""Real PostgreSQL and Redis servers on loopback for the test suite.

Tests run against the same servers production uses (not mocks) so that SQL dialect, locking,
Redis Streams and reconnect behaviour are exercised for real. Each server lives in its own
temporary directory on a free port and is stopped by the caller (a session fixture).
Readiness is always polled with a deadline, never guessed with fixed sleeps.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 30.0
_PG_ROOT = Path("/usr/lib/postgresql")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ServerError(RuntimeError):
    """A test server could not be started or stopped; the message says why."""


def free_port() -> int:
    """Ask the kernel for a currently free loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_started(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], name: str, log: Path
) -> None:
    """Poll `ready` until it holds; a server that exits or stays deaf fails with its log."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{name} exited at start:\n{_tail(log)}")
        if ready():
            return
        time.sleep(0.02)
    raise ServerError(f"{name} not ready after {START_TIMEOUT}s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- PostgreSQL


def find_pg_bin() -> Path:
    """Highest installed PostgreSQL version's bin dir (Debian layout)."""
    versions: list[tuple[int, Path]] = []
    if _PG_ROOT.is_dir():
        for entry in _PG_ROOT.iterdir():
            if entry.name.isdigit() and (entry / "bin" / "postgres").is_file():
                versions.append((int(entry.name), entry / "bin"))
    if not versions:
        raise ServerError(
            f"PostgreSQL server binaries not found under {_PG_ROOT}/*/bin; "
            "install them with `apt-get install postgresql`"
        )
    return max(versions)[1]


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL cluster; `url` points at the pre-created `hub` database."""

    bin_dir: Path
    root: Path
    port: int
    as_postgres_user: bool
    _own_root: bool = False
    _running: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return self.url_for("hub")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _cmd(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / tool), *args]
        # Postgres refuses to run as root, so drop to the `postgres` system user.
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres_user else cmd

    def _run(self, tool: str, *args: str, timeout: float = START_TIMEOUT) -> None:
        proc = subprocess.run(
            self._cmd(tool, *args),
            cwd=self.root,  # runuser keeps the cwd; /root is not readable by postgres
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise ServerError(
                f"{tool} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}"
                f"{proc.stderr}\n--- log ---\n{_tail(self.log_file)}"
            )

    def _psql(self, sql: str, database: str = "postgres") -> None:
        # psql connects over TCP with trust auth, so it needs no user switch.
        cmd = [str(self.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        cmd += ["-d", self.url_for(database), "-c", sql]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        if proc.returncode != 0:
            raise ServerError(f"psql {sql!r} failed: {proc.stderr.strip()}")

    def init(self) -> None:
        """initdb with test-only settings: durability off, loopback only, trust auth."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.as_postgres_user:
            shutil.chown(self.root, "postgres", "postgres")
            for path in (self.data_dir, self.socket_dir):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                "\n# --- test settings (never use in production) ---\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 200\n"
                "shared_buffers = 32MB\n"
                "log_min_messages = warning\n"
            )

    def up(self) -> None:
        """Start the server on the recorded port and data dir and wait until it answers."""
        if self._running:
            return
        if _port_open(self.port):
            raise ServerError(f"port {self.port} is already taken; cannot start postgres")
        # -W: don't let pg_ctl wait by itself; we poll pg_isready below with our own deadline.
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-W", "start")
        self._running = True
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        cmd = [str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        while time.monotonic() < deadline:
            rc = subprocess.run(cmd, capture_output=True, timeout=10, check=False).returncode
            if rc == 0:
                return
            time.sleep(0.05)
        raise ServerError(
            f"postgres not ready on port {self.port} after {START_TIMEOUT}s\n{_tail(self.log_file)}"
        )

    def down(self) -> None:
        """Fast shutdown keeping the data, to simulate an outage (see `up`)."""
        if not self._running:
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
        self._running = False

    def restart(self) -> None:
        """Stop and start again on the same port and data (fault tests)."""
        self.down()
        self.up()

    def stop(self) -> None:
        """Final stop: shut the server down and remove directories it created outside base_dir."""
        try:
            self.down()
        finally:
            if self._own_root:
                shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database (cheap: copies template0) and return its URL."""
        if not _DB_NAME.match(name):
            raise ValueError(f"invalid database name: {name!r}")
        self._psql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting any session still using it."""
        if not _DB_NAME.match(name):
            raise ValueError(f"invalid database name: {name!r}")
        self._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_postgres(base_dir: Path) -> PostgresServer:
    """initdb + start a PostgreSQL server on a free loopback port with a `hub` database.

    The cluster lives in its own short /tmp dir (removed by `stop`), not under base_dir:
    as root it must belong to the `postgres` user, who cannot traverse pytest's 0700 temp
    dirs, and the unix socket path must stay under ~100 bytes. A symlink in base_dir points
    at it for post-mortem inspection.
    """
    bin_dir = find_pg_bin()
    as_postgres = os.geteuid() == 0
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    link = base_dir / f"postgres-{root.name}"
    link.symlink_to(root)
    server = PostgresServer(bin_dir, root, free_port(), as_postgres, _own_root=True)
    try:
        server.init()
        server.up()
        server._psql("CREATE DATABASE hub TEMPLATE template0")
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------- Redis


@dataclass
class RedisServer:
    """A throw-away redis-server with AOF on, so `restart` keeps the data like production."""

    binary: str
    dir: Path
    port: int
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.dir / "redis.log"

    def up(self) -> None:
        """Start redis-server on the recorded port and dir and wait for PONG."""
        if self._proc is not None:
            return
        if _port_open(self.port):
            raise ServerError(f"port {self.port} is already taken; cannot start redis")
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--daemonize", "no",
            "--logfile", str(self.log_file),
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, cwd=self.dir)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        try:
            _wait_started(self._proc, self.ping, "redis-server", self.log_file)
        except ServerError:
            self.down()
            raise

    def ping(self) -> bool:
        """True when the server answers PING (raw RESP, no client library needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def down(self) -> None:
        """SIGTERM (redis flushes the AOF on it) and wait; keeps data for `up`."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port and dir (fault tests)."""
        self.down()
        self.up()

    def stop(self) -> None:
        """Final stop; the directory belongs to the caller's base_dir."""
        self.down()


def start_redis(base_dir: Path) -> RedisServer:
    """Start redis-server on a free loopback port in its own dir under base_dir."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).is_file():
        raise ServerError("redis-server not found; install it with `apt-get install redis-server`")
    base_dir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(binary, Path(tempfile.mkdtemp(prefix="redis-", dir=base_dir)), free_port())
    server.up()
    return server


# --------------------------------------------------------------------------- Dovecot (IMAP)


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1/localhost (openssl CLI): (cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not (cert.is_file() and key.is_file()):
        cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        cmd += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        cmd += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise ServerError(f"openssl could not make a certificate: {proc.stderr.strip()}")
    return cert, key


@dataclass
class DovecotServer:
    """A throw-away Dovecot IMAP server: passwd-file users, maildir, plain IMAP and IMAPS on
    two free loopback ports. Its own config and directories; nothing under /etc or /var."""

    root: Path
    cert: Path
    imap_port: int
    imaps_port: int
    user: str = "support@shop.test"
    password: str = "imap-secret"
    idle: bool = True
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "dovecot.log"

    def url(self, *, tls: bool = True, mailbox: str = "INBOX") -> str:
        from urllib.parse import quote

        scheme, port = ("imaps", self.imaps_port) if tls else ("imap", self.imap_port)
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"{scheme}://{credentials}@127.0.0.1:{port}/{mailbox}"

    def write_config(self, key: Path) -> None:
        """Root: login processes as `dovenull`, mail as `dovecot` (Dovecot's own users);
        otherwise everything runs as the current user."""
        import pwd

        me = pwd.getpwuid(os.geteuid())
        if me.pw_uid == 0:
            internal, login = "dovecot", "dovenull"
            mail_user = pwd.getpwnam("dovecot")
        else:
            internal = login = me.pw_name
            mail_user = me
        home = self.root / "mail" / "support"
        home.mkdir(parents=True, exist_ok=True)
        for path in (self.root / "mail", home):
            os.chown(path, mail_user.pw_uid, mail_user.pw_gid)
        passwd = self.root / "passwd"
        passwd.write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{mail_user.pw_uid}:{mail_user.pw_gid}::{home}\n"
        )
        # IMAP4rev1 without IDLE, to exercise the polling fallback.
        capability = "" if self.idle else "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS\n"
        self.config.write_text(
            f"base_dir = {self.root}/run\n"
            f"state_dir = {self.root}/state\n"
            f"instance_name = hub-test-{self.imap_port}\n"
            "protocols = imap\n"
            "listen = 127.0.0.1\n"
            f"log_path = {self.log_file}\n"
            f"default_internal_user = {internal}\n"
            f"default_login_user = {login}\n"
            f"first_valid_uid = {min(mail_user.pw_uid, 500)}\n"
            "ssl = yes\n"
            f"ssl_cert = <{self.cert}\n"
            f"ssl_key = <{key}\n"
            "disable_plaintext_auth = no\n"
            "auth_mechanisms = plain login\n"
            "mail_location = maildir:~/Maildir\n"
            f"{capability}"
            f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {passwd}\n}}\n"
            f"userdb {{\n  driver = passwd-file\n  args = {passwd}\n}}\n"
            "service imap-login {\n"
            f"  inet_listener imap {{\n    port = {self.imap_port}\n  }}\n"
            f"  inet_listener imaps {{\n    port = {self.imaps_port}\n    ssl = yes\n  }}\n"
            "}\n"
        )

    def up(self) -> None:
        """Start dovecot in the foreground (-F, so it is our child) and wait for its banner."""
        if self._proc is not None:
            return
        for port in (self.imap_port, self.imaps_port):
            if _port_open(port):
                raise ServerError(f"port {port} is already taken; cannot start dovecot")
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        # Its own session: `down` stops the whole instance, the processes still serving
        # clients included (left alone, they outlive the master and keep connections open).
        self._proc = subprocess.Popen(
            [binary, "-F", "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            cwd=self.root,
            start_new_session=True,
        )
        try:
            _wait_started(self._proc, self._greets, "dovecot", self.log_file)
        except ServerError:
            self.down()
            raise

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1.0) as sock:
                return sock.recv(256).startswith(b"* OK")
        except OSError:
            return False

    def down(self) -> None:
        """SIGTERM every process of the instance (a server going away drops its clients)
        and wait until both ports are free."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a straggler that outlived its master
        deadline = time.monotonic() + START_TIMEOUT
        while any(_port_open(p) for p in (self.imap_port, self.imaps_port)):
            if time.monotonic() > deadline:
                raise ServerError("dovecot's ports stayed open after it stopped")
            time.sleep(0.02)

    def restart(self) -> None:
        self.down()
        self.up()

    def stop(self) -> None:
        try:
            self.down()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot(cert: Path, key: Path, *, idle: bool = True) -> DovecotServer:
    """A Dovecot on free loopback ports in its own short /tmp dir (removed by `stop`):
    as root, Dovecot's unprivileged users must be able to traverse it."""
    if not Path(shutil.which("dovecot") or "/usr/sbin/dovecot").is_file():
        raise ServerError("dovecot not found; install it with `apt-get install dovecot-imapd`")
    root = Path(tempfile.mkdtemp(prefix="hub-imap-"))
    root.chmod(0o755)
    server = DovecotServer(root, cert, free_port(), free_port(), idle=idle)
    try:
        server.write_config(key)
        server.up()
    except BaseException:
        server.stop()
        raise
    return server
