"""The server's own address: where this process's platform emulators are reached.

In the embedded mode each platform URL left unset points at that platform's emulator,
served under ``/sandbox/<platform>/`` by the web server itself, which keeps the emulator's
records in its own memory. The connectors therefore call the address of the server they
run in, whatever host and port it was started on: ``manage.py runserver`` (this package's
``runserver`` command) and gunicorn started with ``layer_sync.server.gunicorn_config``
record the address they listen on (``LAYER_SYNC_SERVER_URL``, inherited by gunicorn's
workers) before serving. Two servers on one machine thus each reach their own emulators,
never the other's.

A command run beside the server (``manage.py sync --process``), which serves nothing
itself, uses the server of the same database: the server also writes its address to a
file named after its database in a folder of the temporary directory private to the
user (``registry_path``), and removes it when it stops. Two copies of the product (two
databases) never see each other's.

``SANDBOX_BASE_URL`` set explicitly wins over both (a Celery worker beside the server, the
tests). With none of these, there is no guess (an earlier default of 127.0.0.1:8000 sent
one copy's syncs into another copy's emulators): ``server_url`` raises
``ServerAddressUnknown``, which says what to do.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import ipaddress
import os
import stat
import tempfile
from pathlib import Path

from django.conf import settings

ENV_VARIABLE = "LAYER_SYNC_SERVER_URL"


class ServerAddressUnknown(LookupError):
    """This process serves no web requests and SANDBOX_BASE_URL is not set."""

    def __init__(self) -> None:
        super().__init__(
            "The platform emulators are served by the layer_sync web server, and no server "
            "of this database is running: start it (`manage.py runserver`, or gunicorn with "
            "`-c python:layer_sync.server.gunicorn_config`), or set SANDBOX_BASE_URL to the "
            "address of the server whose emulators to use (e.g. http://127.0.0.1:8000)."
        )


def loopback_url(host: str, port: int | str, scheme: str = "http") -> str:
    """The URL by which this machine reaches a server bound to ``host``:``port``.

    A wildcard bind (0.0.0.0, ::, or no host) is reached on the loopback address of its
    family; any other address as it is (IPv6 in brackets)."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 (reading a bind address, not binding)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a host name
    return f"{scheme}://{host}:{int(port)}"


def registry_path() -> Path:
    """The file where the server of this process's database writes its address."""
    database = settings.DATABASES["default"]
    name = str(database.get("NAME", ""))
    if database.get("ENGINE", "").endswith("sqlite3") and name != ":memory:":
        name = str(Path(name).resolve())
    identity = (
        "|".join(str(database.get(key, "")) for key in ("ENGINE", "HOST", "PORT", "USER"))
        + f"|{name}"
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    return _registry_dir() / f"server-{digest}.url"


def _registry_dir() -> Path:
    """This user's own folder in the temporary directory (made private: the file says where
    credentials go, so no other user may write it). OSError when it is not private."""
    folder = Path(tempfile.gettempdir()) / f"layer_sync-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    state = folder.lstat()
    if not stat.S_ISDIR(state.st_mode) or state.st_uid != os.getuid() or state.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a folder private to this user.")
    return folder


def server_url_record(url: str) -> None:
    """Record the address this process (and the processes it starts) serves on, and
    publish it to commands run beside it on the same database until this process ends."""
    url = url.rstrip("/")
    os.environ[ENV_VARIABLE] = url
    with contextlib.suppress(OSError):  # best effort: the server itself needs no file
        path = registry_path()
        path.write_text(url + "\n")
        atexit.register(_registry_remove, path, url)


def _registry_remove(path: Path, url: str) -> None:
    """Remove the published address if it is still this server's."""
    with contextlib.suppress(OSError):
        if path.read_text().strip() == url:
            path.unlink()


def server_url() -> str:
    """Where this process reaches its own server's emulators (no trailing slash)."""
    configured = getattr(settings, "SANDBOX_BASE_URL", "")
    if configured:
        return configured.rstrip("/")
    recorded = os.environ.get(ENV_VARIABLE, "")
    if recorded:
        return recorded.rstrip("/")
    with contextlib.suppress(OSError):
        published = registry_path().read_text().strip()
        if published:
            return published
    raise ServerAddressUnknown()
