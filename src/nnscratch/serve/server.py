"""Running the app on uvicorn: its listening socket, its address, and stopping.

The socket is bound before anything else happens, so a port in use or a host that cannot be
bound ends ``nnscratch serve`` with one line at once (not after loading or training models).
Ctrl-C lets uvicorn finish the requests in flight and close; it then raises
``KeyboardInterrupt``, which the command line reports as one line.

One Python process answers on one core (the GIL), so on Linux the server forks copies of
itself once the models are loaded, each running its own uvicorn on the same listening socket:
the kernel hands each new connection to one of them. They stop when the first process does,
or when it dies.
"""

import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
import time

import uvicorn

GRACEFUL_SECONDS = 3  # after Ctrl-C, requests in flight get this long to finish


def open_socket(host, port):
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port).

    Raises
    ------
    OSError
        The port is in use, ``host`` is not an address of this machine or is unknown, or
        binding is not permitted (a port below 1024 without root); the message names
        ``--host`` or ``--port`` and says what to do.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"--host {host}: not a host name or address this machine knows "
                      f"({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"--port {port}: {where} is already in use (another server?); "
                          "choose another port, or --port 0 for any free one") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise OSError(f"--port {port}: not permitted to listen on {where} (ports below "
                          "1024 need root); choose a port from 1024 to 65535") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise OSError(f"--host {host}: not an address of this machine; use 127.0.0.1 "
                          "(this machine only) or 0.0.0.0 (every network)") from None
        raise OSError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    return sock


def address(sock):
    """The app's address for a browser on this machine, e.g. ``http://127.0.0.1:8000/``
    (the loopback address when ``sock`` listens on every address, 0.0.0.0 or ::)."""
    host, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(host)
    if ip.is_unspecified:
        ip = ipaddress.ip_address("::1" if ip.version == 6 else "127.0.0.1")
    return f"http://{f'[{ip}]' if ip.version == 6 else ip}:{port}/"


def is_loopback(sock):
    """True when ``sock`` is reachable from this machine only (127.0.0.0/8, ::1)."""
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def make_server(app):
    """A uvicorn server for ``app``: quiet (errors only), no lifespan events."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=GRACEFUL_SECONDS)
    return uvicorn.Server(config)


def can_fork():
    """Whether this system runs several server processes (Linux: ``fork`` after loading)."""
    return sys.platform.startswith("linux")


def run(app, sock, processes=1):
    """Serve ``app`` on the listening socket ``sock`` until Ctrl-C (or SIGTERM).

    Parameters
    ----------
    processes : int
        Server processes: this one and ``processes - 1`` forked copies (Linux only; see
        :func:`can_fork`).

    Raises
    ------
    KeyboardInterrupt
        After a Ctrl-C, once the server has closed.
    """
    copies = [_fork_server(app, sock) for _ in range(processes - 1)]
    try:
        make_server(app).run(sockets=[sock])
    finally:
        for pid in copies:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in copies:
            os.waitpid(pid, 0)


def _fork_server(app, sock):
    """Fork a copy of this process serving ``app`` on ``sock``; its pid (in the parent)."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:  # the copy: serve until SIGTERM or Ctrl-C, and never return into the caller
        threading.Thread(target=_stop_when_orphaned, args=(parent,), daemon=True).start()
        make_server(app).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    except BaseException as exc:  # a copy must never go on running the parent's code
        print(f"nnscratch serve: error: a server process stopped: {exc!r}", file=sys.stderr)
        status = 1
    finally:
        os._exit(status)


def _stop_when_orphaned(parent, every=0.5):
    """Stop this copy (SIGTERM to itself) once ``parent`` is gone, e.g. killed with SIGKILL."""
    while os.getppid() == parent:
        time.sleep(every)
    os.kill(os.getpid(), signal.SIGTERM)
