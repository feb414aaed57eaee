"""A throwaway PostgreSQL cluster for the tests of rubrics serve (issue 12).

Made from Debian's ``postgresql`` package (``scripts/setup`` installs it): ``initdb`` into
a temporary folder, the server listening only on a unix socket in that folder (no TCP
port to clash with anything), fsync off. Under root, PostgreSQL refuses to run, so the
cluster then belongs to and runs as ``nobody``. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETUP = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/setup, "
         "which installs Debian's postgresql package, for the tests on PostgreSQL")
SUPERUSER = "rubrics"
PORT = 5432  # only names the socket file: the server listens on no TCP port
UNPRIVILEGED = "nobody"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _as_owner() -> dict[str, Any]:
    """subprocess arguments that run a command as the cluster's owner: ``nobody`` under
    root (with no supplementary group), else the current user."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(UNPRIVILEGED)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@dataclass
class Cluster:
    """A running cluster in ``folder`` (data in ``folder/data``, socket in ``folder``)."""

    bin: Path
    folder: Path
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls) -> Cluster:
        found = binaries()
        if found is None:
            raise RuntimeError(SETUP)
        folder = Path(tempfile.mkdtemp(prefix="rubrics-pg-"))
        cluster = cls(found, folder)
        try:
            if os.geteuid() == 0:
                user = pwd.getpwnam(UNPRIVILEGED)
                os.chown(folder, user.pw_uid, user.pw_gid)
            cluster._run("initdb", "-D", str(folder / "data"), "-U", SUPERUSER, "--auth=trust",
                         "-E", "UTF8", "--no-locale", "--no-sync")
            options = (f"-k {folder} -p {PORT} -c listen_addresses='' -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            cluster._run("pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "server.log"),
                         "-w", "-t", "60", "-o", options, "start")
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([str(self.bin / program), *args], cwd=self.folder,
                              capture_output=True, text=True, check=False, timeout=120,
                              **_as_owner())
        if done.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr}{done.stdout}"
                               + (log.read_text(errors="replace") if log.exists() else ""))

    def stop(self) -> None:
        """Stop the server (at once: nothing in it is worth keeping) and remove the folder."""
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
                          "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one of the cluster's databases."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.folder}&port={PORT}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(host=str(self.folder), port=PORT, user=SUPERUSER,
                               dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        """A new, empty database; its name."""
        name = f"test_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
