"""A private Virtuoso for the tests (not a test module).

:func:`start` runs ``virtuoso-t`` in the foreground on loopback with its own configuration and
database in a temporary folder: free ports for HTTP and ISQL, ``DirsAllowed`` limited to that
folder, no VAD packages, nothing of the Debian service (``/etc/init.d/virtuoso-opensource-7``, its
database and its dba password prompt are never involved: only the ``virtuoso-opensource-7-bin``
package is needed). It then creates a test user allowed to use SPARQL Update and the Graph Store
(``/sparql-graph-crud-auth``, HTTP digest) and changes the dba password. ``Virtuoso.stop`` stops it;
it is also killed when the Python process exits.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BINARY = "virtuoso-t"
ISQL = "isql-vt"

INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DisableUnixSocket = 1
CheckpointInterval = 0
NumberOfBuffers = 60000
MaxDirtyBuffers = 45000
MaxQueryMem = 500M
DirsAllowed = {dir}
ThreadsPerQuery = 2
MaxMemPoolSize = 100000000
VADInstallDir = {dir}/vad

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}/www
MaxClientConnections = 8
ServerThreads = 8
EnabledDavVSP = 0
DavRoot = DAV

[AutoRepair]
BadParentLinks = 0

[Client]
SQL_PREFETCH_ROWS = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT = 0
SQL_TXN_TIMEOUT = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 20
DefaultGraph =
"""

USER = "cohesio"

SETUP_SQL = """\
DB.DBA.USER_CREATE('{user}', '{password}');
GRANT SPARQL_SELECT TO "{user}";
GRANT SPARQL_UPDATE TO "{user}";
DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{user}', 15);
DB.DBA.RDF_DEFAULT_USER_PERMS_SET('nobody', 1);
USER_CHANGE_PASSWORD('dba', 'dba', '{dba_password}');
"""

_running: list["Virtuoso"] = []


class VirtuosoUnavailable(Exception):
    pass


def available() -> bool:
    return shutil.which(BINARY) is not None and shutil.which(ISQL) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Virtuoso:
    directory: Path
    http_port: int
    isql_port: int
    process: subprocess.Popen
    user: str = USER
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    dba_password: str = "dba"
    owns_directory: bool = True
    started_seconds: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/sparql"

    @property
    def update_url(self) -> str:
        return f"{self.base_url}/sparql-auth"

    @property
    def graph_store_url(self) -> str:
        return f"{self.base_url}/sparql-graph-crud-auth"

    def settings_overrides(self) -> dict[str, str]:
        """The cohesio settings of the remote backend pointing at this server."""
        return {
            "backend": "remote",
            "remote_query_url": self.query_url,
            "remote_update_url": self.update_url,
            "remote_graph_store_url": self.graph_store_url,
            "remote_user": self.user,
            "remote_password": self.password,
        }

    def isql(self, sql: str, timeout: float = 60) -> str:
        """Run SQL statements as dba through isql; raises with isql's output on error."""
        run = subprocess.run(
            [ISQL, f"127.0.0.1:{self.isql_port}", "dba", self.dba_password, "VERBOSE=OFF", "BANNER=OFF",
             "PROMPT=OFF", "ECHO=OFF", "ERRORS=STDOUT", f"EXEC={sql}"],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        out = run.stdout + run.stderr
        if run.returncode != 0 or "*** Error" in out:
            raise VirtuosoUnavailable(f"isql failed ({run.returncode}): {out.strip()}")
        return out

    def log(self) -> str:
        path = self.directory / "virtuoso.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # virtuoso-t shuts down cleanly on SIGTERM
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self in _running:
            _running.remove(self)
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def _ready(url: str) -> bool:
    query = urllib.parse.urlencode({"query": "ASK {}"})
    try:
        with urllib.request.urlopen(f"{url}?{query}", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(directory: Path | None = None, wait: float = 120) -> Virtuoso:
    """Start a private Virtuoso and return once its SPARQL endpoint answers and the user exists."""
    if not available():
        raise VirtuosoUnavailable(
            "virtuoso-t introuvable : lancez « make install-system » (paquet virtuoso-opensource-7-bin). / "
            "virtuoso-t not found: run 'make install-system' (package virtuoso-opensource-7-bin)."
        )
    owns = directory is None
    directory = Path(tempfile.mkdtemp(prefix="cohesio-virtuoso-")) if directory is None else directory
    (directory / "www").mkdir(parents=True, exist_ok=True)
    (directory / "vad").mkdir(exist_ok=True)
    http_port, isql_port = free_port(), free_port()
    while isql_port == http_port:
        isql_port = free_port()
    ini = directory / "virtuoso.ini"
    ini.write_text(INI.format(dir=directory, http_port=http_port, isql_port=isql_port))
    started = time.perf_counter()
    out = open(directory / "stdout.log", "wb")
    process = subprocess.Popen([BINARY, "-f", "-c", str(ini)], cwd=directory, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    server = Virtuoso(directory, http_port, isql_port, process, owns_directory=owns)
    _running.append(server)
    deadline = time.monotonic() + wait
    while not _ready(server.query_url):
        if process.poll() is not None or time.monotonic() > deadline:
            log = server.log()[-3000:]
            server.stop()
            raise VirtuosoUnavailable(f"Virtuoso did not start (exit {process.returncode}):\n{log}")
        time.sleep(0.2)
    dba_password = secrets.token_hex(8)
    server.isql(SETUP_SQL.format(user=server.user, password=server.password, dba_password=dba_password))
    server.dba_password = dba_password
    server.started_seconds = time.perf_counter() - started
    return server


@atexit.register
def _kill_all() -> None:
    for server in list(_running):
        if server.process.poll() is None:
            try:
                os.killpg(server.process.pid, signal.SIGKILL)
            except OSError:
                pass
        if server.owns_directory:
            shutil.rmtree(server.directory, ignore_errors=True)
    _running.clear()
