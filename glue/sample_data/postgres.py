"""A throwaway PostgreSQL 15 server on loopback, and the loader for the orders table.

The demo and the tests read the orders over Spark JDBC from a real server, so the
same path a Glue JDBC connection takes is exercised. The server lives in a temporary
directory, listens on 127.0.0.1 at a free port, and is stopped and deleted on exit::

    with throwaway_postgres() as server:
        load_orders(server, "out/sample/orders.csv")
        spark.read.jdbc(server.jdbc_url, "orders", properties=server.jdbc_properties)

Only Debian's ``postgresql`` (server binaries, ``psql``) and ``libpostgresql-jdbc-java``
(the JDBC driver Spark loads) are needed; no Python database driver.
"""
from __future__ import annotations

import argparse
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

from sample_data.generate import HISTORY_END, ORDER_COLUMNS

POSTGRES_MAJOR_VERSION = "15"
JDBC_DRIVER_JAR = "/usr/share/java/postgresql.jar"
JDBC_DRIVER_CLASS = "org.postgresql.Driver"
INSTALL_HINT = ("install Debian's `postgresql` and `libpostgresql-jdbc-java` packages "
                "(sudo apt-get install postgresql libpostgresql-jdbc-java) or run `make system-deps`")
# initdb refuses to run as root; as root the server runs as this system user instead.
SERVER_SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL or its JDBC driver is not installed, or the server would not start."""


def default_bin_dirs() -> List[str]:
    candidates = [f"/usr/lib/postgresql/{POSTGRES_MAJOR_VERSION}/bin"] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    return candidates


def find_bin_dir(candidates: Optional[Sequence[str]] = None) -> Path:
    """The PostgreSQL binaries (initdb, pg_ctl, psql), preferring Debian's version 15 layout."""
    for candidate in default_bin_dirs() if candidates is None else candidates:
        if all(os.access(os.path.join(candidate, tool), os.X_OK) for tool in ("initdb", "pg_ctl", "psql")):
            return Path(candidate)
    raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, pg_ctl, psql) were not found: {INSTALL_HINT}")


def require_jdbc_driver(jar: str = JDBC_DRIVER_JAR) -> str:
    if not os.path.isfile(jar):
        raise PostgresUnavailable(f"the PostgreSQL JDBC driver {jar} is missing: {INSTALL_HINT}")
    return jar


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    """Connection details of a running throwaway server."""

    bin_dir: Path
    socket_dir: Path
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    host: str = "127.0.0.1"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    @property
    def jdbc_properties(self) -> Dict[str, str]:
        """Options for ``spark.read.jdbc(url, table, properties=...)``."""
        return {"user": self.user, "password": self.password, "driver": JDBC_DRIVER_CLASS}

    def psql(self, sql: str, stdin_path: Optional[str] = None) -> str:
        """Run SQL through psql over the private Unix socket; return its unaligned output."""
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                   "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, "-d", self.database, "-c", sql]
        env = dict(os.environ, PGCLIENTENCODING="UTF8")
        if stdin_path is None:
            result = subprocess.run(command, capture_output=True, text=True, env=env)
        else:
            with open(stdin_path, "rb") as source:
                result = subprocess.run(command, stdin=source, capture_output=True, env=env)
            result = subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace"))
        if result.returncode != 0:
            raise RuntimeError(f"psql failed ({result.returncode}) running {sql[:200]!r}: {result.stderr.strip()}")
        return result.stdout


def _as_server_user(command: Sequence[str]) -> List[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_SYSTEM_USER, "--", *command]
    return list(command)


def _run(command: Sequence[str], what: str, log: Optional[Path] = None) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip()
        if log is not None and log.exists():
            detail += "\n--- server log ---\n" + log.read_text(errors="replace")[-4000:]
        raise PostgresUnavailable(f"{what} failed ({result.returncode}): {detail}")


@contextmanager
def throwaway_postgres(database: str = "retail", user: str = "retail") -> Iterator[PostgresServer]:
    """Start a fresh PostgreSQL cluster on 127.0.0.1 at a free port; stop and delete it on exit.

    Host connections (JDBC) need a random password (scram-sha-256); psql uses a Unix
    socket in the private temporary directory.
    """
    bin_dir = find_bin_dir()
    require_jdbc_driver()
    root = Path(tempfile.mkdtemp(prefix="throwaway-postgres-"))
    data_dir, log_file, password_file = root / "data", root / "server.log", root / "password"
    password = secrets.token_urlsafe(18)
    password_file.write_text(password + "\n")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_SYSTEM_USER)
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"running as root needs the `{SERVER_SYSTEM_USER}` system user to own the server: {INSTALL_HINT}") from None
        for path in (root, password_file):
            os.chown(path, account.pw_uid, account.pw_gid)
    started = False
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", user, "-E", "UTF8", "--locale=C",
              "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={password_file}"], "initdb")
        password_file.unlink()
        last_error: Optional[Exception] = None
        for _attempt in range(3):  # another process may take the free port first
            port = free_loopback_port()
            # Durability is pointless for a throwaway server: skip fsync to load faster.
            options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(log_file), "-o", options, "-w", "-t", "60", "start"],
                     "pg_ctl start", log_file)
                started = True
                break
            except PostgresUnavailable as error:
                last_error = error
        if not started:
            raise last_error  # type: ignore[misc]
        server = PostgresServer(bin_dir, root, port, "postgres", user, password)
        server.psql(f'CREATE DATABASE "{database}"')
        server.database = database
        yield server
    finally:
        if started:
            subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"]),
                           capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# When the shop's sync job wrote each line: the incremental export's change column. Set
# by the database, never by the generated file; indexed so a delta is read by the index.
LOAD_TIME_COLUMN = "loaded_at"
HISTORY_SYNC_SECONDS = 730 * 86400


def create_orders_table(server: PostgresServer, table: str = "orders") -> None:
    columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in ORDER_COLUMNS)
    columns += f', "{LOAD_TIME_COLUMN}" timestamptz NOT NULL DEFAULT clock_timestamp()'
    server.psql(f'DROP TABLE IF EXISTS "{table}"; CREATE TABLE "{table}" ({columns}); '
                f'CREATE INDEX "{table}_{LOAD_TIME_COLUMN}" ON "{table}" ("{LOAD_TIME_COLUMN}")')


def load_orders(server: PostgresServer, orders_csv, table: str = "orders") -> int:
    """Create the orders table and bulk-load the generated CSV with COPY; return the row count."""
    path = Path(orders_csv)
    if not path.is_file():
        raise FileNotFoundError(f"orders file {path} does not exist: run `python -m sample_data.generate --out DIR` first")
    create_orders_table(server, table)
    names = ", ".join(f'"{name}"' for name, _ in ORDER_COLUMNS)
    server.psql(f'COPY "{table}" ({names}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING \'UTF8\')', stdin_path=str(path))
    # The history was synced as it happened, over the two years before its end (a fixed
    # spread per line, so the same file always gives the same load times).
    server.psql(f'UPDATE "{table}" SET "{LOAD_TIME_COLUMN}" = TIMESTAMPTZ \'{HISTORY_END.isoformat()}\' - '
                f'(abs(hashtext(coalesce(order_id, \'\') || \'/\' || coalesce(line_no::text, \'\'))) % {HISTORY_SYNC_SECONDS}) * INTERVAL \'1 second\'')
    server.psql(f'ANALYZE "{table}"')
    return int(server.psql(f'SELECT count(*) FROM "{table}"').strip())


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Start a server with the generated orders loaded and keep it up until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m sample_data.postgres", description=main.__doc__)
    parser.add_argument("--data", required=True, help="directory written by `python -m sample_data.generate`")
    args = parser.parse_args(argv)

    def stop(signum, frame):  # SIGTERM (and SIGINT where a parent ignored it) still cleans up
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with throwaway_postgres() as server:
        rows = load_orders(server, Path(args.data) / "orders.csv")
        print(f"{rows} order lines loaded; JDBC URL {server.jdbc_url} user {server.user} password {server.password}")
        print(f"psql -h {server.socket_dir} -p {server.port} -U {server.user} {server.database}    (Ctrl-C stops and deletes the server)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
