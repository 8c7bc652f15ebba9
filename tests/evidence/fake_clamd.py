"""A fake clamd in a thread, on a Unix socket or TCP, speaking zINSTREAM and zPING.

It answers ``stream: OK``, ``stream: Eicar-Test-Signature FOUND`` for a stream holding
the EICAR test string, and ``INSTREAM size limit exceeded. ERROR`` past its limit.
"""

from __future__ import annotations

import os
import socket
import struct
import threading

from tests.evidence.samples import EICAR


class FakeClamd:
    def __init__(self, *, unix_path: str | None = None, limit: int = 1024 * 1024):
        self.limit = limit
        self.streams: list[bytes] = []
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.address = unix_path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read_exactly(self, conn, size: int) -> bytes:
        data = b""
        while len(data) < size:
            piece = conn.recv(size - len(data))
            if not piece:
                raise ConnectionError("closed")
            data += piece
        return data

    def _handle(self, conn) -> None:
        conn.settimeout(5)
        command = b""
        while not command.endswith(b"\0"):
            piece = conn.recv(1)
            if not piece:
                return
            command += piece
        if command == b"zPING\0":
            conn.sendall(b"PONG\0")
            return
        if command != b"zINSTREAM\0":
            conn.sendall(b"UNKNOWN COMMAND\0")
            return
        stream = b""
        while True:
            (size,) = struct.unpack(">I", self._read_exactly(conn, 4))
            if size == 0:
                break
            stream += self._read_exactly(conn, size)
            if len(stream) > self.limit:
                conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                return
        self.streams.append(stream)
        if EICAR in stream:
            conn.sendall(b"stream: Eicar-Test-Signature FOUND\0")
        else:
            conn.sendall(b"stream: OK\0")

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._handle(conn)
            except (OSError, ConnectionError):
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()
        if not self.address[0].isdigit() and os.path.exists(self.address):
            os.unlink(self.address)
