"""Helpers shared by the scripts that drive a live `coffer` (fuzz-api.py, crash-test.py)."""

import socket
import subprocess
import urllib.parse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_database(server_url: str, name: str) -> str:
    """A fresh database on the test server (dropped first if a previous run left it); its URL."""
    drop_postgres_database(server_url, name, check=True)
    subprocess.run(["psql", server_url, "-q", "-c", f'CREATE DATABASE "{name}"'], check=True)
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def drop_postgres_database(server_url: str, name: str, check: bool = False) -> None:
    subprocess.run(["psql", server_url, "-q", "-c", f'DROP DATABASE IF EXISTS "{name}"'], check=check, stderr=subprocess.DEVNULL)
