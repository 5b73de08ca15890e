"""A TCP forwarder on a stable local port whose backend can be swapped at any time."""

from __future__ import annotations

import contextlib
import socket
import threading


def _unavailable(missing: list[str]) -> bytes:
    if missing:
        text = f"this Worker lacks the secrets {', '.join(missing)}, so it is not running\n"
    else:
        text = "no Worker is deployed under this name\n"
    body = text.encode()
    return (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class StableProxy:
    """Listens on 127.0.0.1:PORT (fixed for its lifetime) and pipes each connection to the
    current backend port. Connections opened before a swap keep their old backend."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.backend_port: int | None = None
        self.missing: list[str] = []  # secrets the Worker lacks (explains the 503)
        self._closed = False
        threading.Thread(
            target=self._accept_loop, name=f"worker-proxy-{self.port}", daemon=True
        ).start()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        port = self.backend_port
        if port is None:
            with client:
                try:
                    client.recv(65536)
                    client.sendall(_unavailable(self.missing))
                except OSError:
                    pass
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        client.close()
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until ``source`` reaches EOF, then half-close ``sink``."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
