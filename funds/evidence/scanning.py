"""Virus scanning through a running clamd (``CLAMD_ADDRESS``: a Unix socket path or
``host:port``), speaking its small ``zINSTREAM`` protocol directly.

A file over the scanner's limits, a reply we do not understand or any error is never
reported clean: it is UNSCANNABLE. A scanner that cannot be reached leaves the file
NOT_SCANNED, for ``flask --app app evidence scan`` to retry.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from flask import current_app

from funds.models import ScanStatus

#: Seconds to wait for clamd to connect or answer.
TIMEOUT = 5.0
CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached (not running, wrong address, refused)."""


@dataclass(frozen=True)
class ScanResult:
    status: ScanStatus
    detail: str | None = None


def scanning_on() -> bool:
    return bool(current_app.config.get("CLAMD_ADDRESS"))


def _connect(address: str, timeout: float) -> socket.socket:
    try:
        if address.startswith("/") or ":" not in address:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address)
        else:
            host, _, port = address.rpartition(":")
            sock = socket.create_connection(
                (host.strip("[]"), int(port)), timeout=timeout
            )
            sock.settimeout(timeout)
        return sock
    except (OSError, ValueError) as error:
        raise ScannerUnavailable(str(error)) from error


def ping(*, address: str | None = None, timeout: float = TIMEOUT) -> None:
    """Check that clamd answers.

    :raises ScannerUnavailable: when it cannot be reached or does not answer PONG.
    """
    sock = _connect(address or current_app.config["CLAMD_ADDRESS"], timeout)
    try:
        sock.sendall(b"zPING\0")
        reply = sock.recv(64)
    except OSError as error:
        raise ScannerUnavailable(str(error)) from error
    finally:
        sock.close()
    if not reply.startswith(b"PONG"):
        raise ScannerUnavailable(f"unexpected answer {reply[:20]!r}")


def interpret(reply: str) -> ScanResult:
    """What clamd's answer means for one stream."""
    text = reply.strip().rstrip("\0").strip()
    if "size limit exceeded" in text.lower() or "Heuristics.Limits.Exceeded" in text:
        return ScanResult(ScanStatus.UNSCANNABLE, text[:200])
    body = text.split(":", 1)[1].strip() if ":" in text else text
    if body == "OK":
        return ScanResult(ScanStatus.CLEAN, None)
    if body.endswith(" FOUND"):
        return ScanResult(ScanStatus.INFECTED, body[: -len(" FOUND")].strip()[:200])
    return ScanResult(ScanStatus.UNSCANNABLE, (text or "no answer")[:200])


def scan_bytes(data: bytes, *, address: str | None = None, timeout: float = TIMEOUT):
    """Scan ``data`` with clamd.

    :raises ScannerUnavailable: when clamd cannot be reached at all.
    """
    address = address or current_app.config["CLAMD_ADDRESS"]
    sock = _connect(address, timeout)
    try:
        try:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                piece = data[start : start + CHUNK]
                sock.sendall(struct.pack(">I", len(piece)) + piece)
            sock.sendall(struct.pack(">I", 0))
        except OSError:
            # clamd may stop reading and answer early (a stream over its limit).
            pass
        reply = b""
        try:
            while not reply.endswith(b"\0"):
                piece = sock.recv(4096)
                if not piece:
                    break
                reply += piece
        except OSError as error:
            if not reply:
                return ScanResult(ScanStatus.UNSCANNABLE, f"no answer: {error}"[:200])
        return interpret(reply.decode("utf-8", "replace"))
    finally:
        sock.close()


def scan_or_wait(data: bytes) -> ScanResult:
    """The status a new file gets: NOT_REQUIRED with scanning off, the scanner's verdict,
    or NOT_SCANNED when the scanner cannot be reached now."""
    if not scanning_on():
        return ScanResult(ScanStatus.NOT_REQUIRED)
    try:
        return scan_bytes(data)
    except ScannerUnavailable as error:
        return ScanResult(ScanStatus.NOT_SCANNED, f"scanner not reached: {error}"[:200])
