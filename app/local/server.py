"""moto's server app on a loopback socket that is bound before anything else starts.

moto's ThreadedMotoServer binds inside its server thread, and werkzeug answers a busy port
there by printing to stderr and calling sys.exit(1): the thread ends quietly, the "ready"
event is never set, and start() waits forever. Binding here, in the caller's thread, turns
a busy or forbidden port into an OSError the caller can report at once.
"""

from __future__ import annotations

import os
import socket
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from app.local.moto_sqs import lazy_queue_attributes


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind, listen, serve on a daemon thread; OSError (EADDRINUSE, EACCES) if it cannot."""
        lazy_queue_attributes()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if os.name == "posix":  # restart at once after a stop (TIME_WAIT), as werkzeug does
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(socket.SOMAXCONN)
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self.host,
                self.port,
                app,
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=listener.fileno(),  # werkzeug serves a duplicate of this socket
            )
        finally:
            listener.close()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how soon stop() is noticed
            name="moto-server",
            daemon=True,
        )
        self._thread.start()

    @property
    def bound_port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
