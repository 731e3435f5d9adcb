"""Running the app under uvicorn, as `photocap serve` does."""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser

from photocap.web.options import ServeOptions


def serve(options: ServeOptions, open_browser: bool = False) -> None:
    """Serve until interrupted. The address (with its token, when there is one) goes to stderr."""
    check_can_listen(options.host, options.port)
    import uvicorn

    from photocap.web.app import create_app

    app = create_app(options)
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning", access_log=False,
                            server_header=False)
    server = uvicorn.Server(config)
    mode = " (read-only)" if options.read_only else ""
    urls = options.urls()
    print(f"photocap serving {options.home}{mode} at {urls[0]}  (Ctrl-C stops)", file=sys.stderr, flush=True)
    for url in urls[1:]:
        print(f"  also at {url}", file=sys.stderr, flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(options.url(),)).start()
    server.run()
    if not server.started:  # the port was taken, say: uvicorn has logged why
        raise OSError(f"could not listen on {options.host}:{options.port}")


def check_can_listen(host: str, port: int) -> None:
    """Raise OSError, in one line, when the address cannot be listened on (taken, or not this machine's)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
