"""Moving stored bytes to and from presigned URLs: `http(s)://` for object stores, `file://` for a
local folder store, behind one interface so that the jobs have one code path.

HTTP goes through the standard library's `http.client`, not httpx: bulk bodies are where the jobs
spend their time, and there `http.client` lets a PUT go out with `sendfile` from the spill file (no
copy through Python) and a GET land with `readinto` in one reused buffer. On loopback against
`rclone serve s3` (benchmarks/http_clients.py) that costs the client several times less CPU per
gigabyte than httpx, whose bodies go through h11 and per-piece `bytes` objects.

Connections are pooled per host and reused; a connection that failed or was left mid-response is
closed. A presigned URL is never written to an error message (its query is a credential).
"""

import http.client
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import attrs

#: Bytes sent per `sendfile` call: the job's stop flag is checked in between.
SENDFILE_SLICE = 16 * 2**20
#: S3 error codes meaning the URL itself was refused (expired, badly signed): a fresh URL may do.
_REFUSALS = {
    "AccessDenied",
    "AuthorizationQueryParametersError",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "RequestExpired",
    "RequestTimeTooSkewed",
    "SignatureDoesNotMatch",
}


class TransferError(Exception):
    """A request failed in a way that another try may fix: a server error, the network, a timeout.

    `refused`: the server refused the URL itself (expired, tampered with); ask for a fresh one first.
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class Interrupted(Exception):
    """The job was told to stop while bytes were moving."""


@attrs.frozen
class Body:
    """What a PUT sends: `size` bytes, either the whole of `file` (from offset 0, sent without copies
    where the transport can) or the pieces `pieces()` yields (called again for every try)."""

    size: int
    file: BinaryIO | None = None
    pieces: Callable[[], Iterable[bytes | memoryview]] | None = None


#: Takes the bytes of a GET as they arrive (a view of a buffer reused right after the call).
Consume = Callable[[memoryview], None]


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _status_error(method: str, url: str, status: int, reason: str, body: bytes) -> TransferError:
    text = body.decode(errors="replace")
    code = re.search(r"<Code>(.*?)</Code>", text, re.DOTALL)
    detail = re.search(r"<Message>(.*?)</Message>", text, re.DOTALL)
    message = f"server responded with {status} {reason}"
    if code:
        message += f" ({code.group(1)}{': ' + detail.group(1) if detail else ''})"
    refused = status in (401, 403) or (code is not None and code.group(1) in _REFUSALS)
    return TransferError(f"{message} to {method} {_where(url)}", refused=refused)


class _Http:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _checkout(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get((scheme, netloc))
            if idle:
                return idle.pop(), True
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        return kind(netloc, timeout=self.timeout), False

    def _checkin(self, scheme: str, netloc: str, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault((scheme, netloc), []).append(connection)

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for connection in idle:
                    connection.close()
            self._idle.clear()

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        send_body: Callable[[http.client.HTTPConnection], None] | None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send a request; a pooled connection the server has meanwhile closed is replaced once."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an HTTP URL: {_where(url)}")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        while True:
            connection, reused = self._checkout(parts.scheme, parts.netloc)
            try:
                connection.putrequest(method, target, skip_accept_encoding=True)
                for name, value in headers.items():
                    connection.putheader(name, value)
                connection.endheaders()
                if send_body is not None:
                    try:
                        send_body(connection)
                    except (ConnectionError, TimeoutError):
                        # The server may have answered early (e.g. refused the URL) and closed.
                        response = connection.getresponse()
                        if response.status < 300:
                            raise
                        return connection, response
                return connection, connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                connection.close()
                if not reused:
                    raise TransferError(f"{method} {_where(url)} failed") from error
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                raise TransferError(f"{method} {_where(url)} failed") from error
            except BaseException:
                connection.close()
                raise

    def _finish(self, url: str, connection: http.client.HTTPConnection, response: http.client.HTTPResponse):
        """Return the connection to the pool once its response is read whole."""
        if response.will_close or not response.isclosed():
            connection.close()
        else:
            parts = urlsplit(url)
            self._checkin(parts.scheme, parts.netloc, connection)

    def _check(self, method: str, url: str, connection, response) -> None:
        if not 200 <= response.status < 300:
            try:
                body = response.read(65536)
            except (OSError, http.client.HTTPException):
                body = b""
            connection.close()
            raise _status_error(method, url, response.status, response.reason, body)

    def get_range(
        self,
        url: str,
        start: int,
        length: int,
        buffer: memoryview,
        consume: Consume,
        stop: threading.Event,
        permit: threading.Semaphore | None,
    ) -> None:
        if permit is not None:
            permit.acquire()
        try:
            headers = {"Range": f"bytes={start}-{start + length - 1}"}
            connection, response = self._exchange("GET", url, headers, None)
        finally:
            if permit is not None:
                permit.release()
        self._check("GET", url, connection, response)
        complete = False
        try:
            content_range = response.getheader("Content-Range")
            if content_range is not None:
                match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range.strip())
                if match is None or int(match.group(1)) != start:
                    raise TransferError(
                        f"server sent range {content_range!r} for bytes {start}- of {_where(url)}"
                    )
            elif start != 0:
                raise TransferError(f"server ignored the range request for bytes {start}- of {_where(url)}")
            if response.length is not None and response.length > length:
                raise TransferError(
                    f"server error: received more bytes than requested ({response.length} > {length})"
                )
            received = 0
            while received < length:
                count = response.readinto(buffer[: min(len(buffer), length - received)])
                if not count:
                    break
                consume(buffer[:count])
                received += count
                if stop.is_set():
                    raise Interrupted("download interrupted")
            if received < length:
                raise TransferError(
                    f"server error: received less bytes than requested ({received} of {length})"
                )
            if response.length is None and response.read(1):
                raise TransferError("server error: received more bytes than requested")
            complete = True
        except (OSError, http.client.HTTPException) as error:
            raise TransferError(f"GET {_where(url)} failed") from error
        finally:
            if complete:
                self._finish(url, connection, response)
            else:
                connection.close()

    def put(self, url: str, body: Body, stop: threading.Event) -> None:
        def send(connection: http.client.HTTPConnection) -> None:
            if body.file is not None:
                sent = 0
                while sent < body.size:
                    count = min(SENDFILE_SLICE, body.size - sent)
                    if connection.sock.sendfile(body.file, sent, count) != count:
                        raise TransferError(
                            f"the body of PUT {_where(url)} is shorter than {body.size} bytes"
                        )
                    sent += count
                    if stop.is_set():
                        raise Interrupted("upload interrupted")
                return
            sent = 0
            for piece in body.pieces():
                connection.sock.sendall(piece)
                sent += len(piece)
                if stop.is_set():
                    raise Interrupted("upload interrupted")
            if sent != body.size:
                raise TransferError(f"sent {sent} bytes in PUT {_where(url)}, {body.size} announced")

        headers = {"Content-Length": str(body.size)}
        connection, response = self._exchange("PUT", url, headers, send)
        self._check("PUT", url, connection, response)
        try:
            response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise TransferError(f"PUT {_where(url)} failed") from error
        self._finish(url, connection, response)

    def read(self, url: str) -> bytes | None:
        connection, response = self._exchange("GET", url, {}, None)
        if response.status == 404:
            response.read()
            self._finish(url, connection, response)
            return None
        self._check("GET", url, connection, response)
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise TransferError(f"GET {_where(url)} failed") from error
        self._finish(url, connection, response)
        return data

    def write(self, url: str, data: bytes) -> None:
        self.put(url, Body(len(data), pieces=lambda: [data]), threading.Event())


def file_path(url: str) -> Path:
    """The path a `file://` URL names."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise ValueError(f"not a local file URL: {url}")
    return Path(unquote(parts.path))


class _Files:
    """`file://` URLs: the local folder store. A written object appears whole (temporary + rename)."""

    def get_range(self, url, start, length, buffer, consume, stop, permit) -> None:
        path = file_path(url)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError as error:
            raise TransferError(f"no such object {path}") from error
        try:
            received = 0
            while received < length:
                count = os.preadv(fd, [buffer[: min(len(buffer), length - received)]], start + received)
                if not count:
                    raise TransferError(f"object {path} is shorter than requested ({start + received} bytes)")
                consume(buffer[:count])
                received += count
                if stop.is_set():
                    raise Interrupted("download interrupted")
        finally:
            os.close(fd)

    def put(self, url: str, body: Body, stop: threading.Event) -> None:
        path = file_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            if body.file is not None:
                sent = 0
                while sent < body.size:
                    count = os.sendfile(fd, body.file.fileno(), sent, min(SENDFILE_SLICE, body.size - sent))
                    if not count:
                        raise TransferError(f"the body for {path} is shorter than {body.size} bytes")
                    sent += count
                    if stop.is_set():
                        raise Interrupted("upload interrupted")
            else:
                for piece in body.pieces():
                    view = memoryview(piece)
                    while view:
                        view = view[os.write(fd, view) :]
                    if stop.is_set():
                        raise Interrupted("upload interrupted")
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(temporary, path)
        finally:
            if fd >= 0:
                os.close(fd)
            temporary.unlink(missing_ok=True)

    def read(self, url: str) -> bytes | None:
        try:
            return file_path(url).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, url: str, data: bytes) -> None:
        self.put(url, Body(len(data), pieces=lambda: [data]), threading.Event())

    def close(self) -> None:
        pass


class Transport:
    """GETs and PUTs on presigned URLs of any supported scheme; thread-safe, connections pooled."""

    def __init__(self, timeout: float = 60.0) -> None:
        self._http = _Http(timeout)
        self._files = _Files()

    def _for(self, url: str) -> "_Http | _Files":
        return self._files if url.startswith("file:") else self._http

    def get_range(
        self,
        url: str,
        start: int,
        length: int,
        buffer: memoryview,
        consume: Consume,
        stop: threading.Event,
        permit: threading.Semaphore | None = None,
    ) -> None:
        """Bytes `start` to `start + length` of the object, handed to `consume` as they arrive.

        `permit` is held from the request until its response headers arrive. Raises `TransferError`
        when fewer or more bytes arrive; bytes handed over before a failure stay handed over.
        """
        self._for(url).get_range(url, start, length, buffer, consume, stop, permit)

    def put(self, url: str, body: Body, stop: threading.Event) -> None:
        """Create or replace the object with `body`."""
        self._for(url).put(url, body, stop)

    def read(self, url: str) -> bytes | None:
        """The whole (small) object; None when it does not exist."""
        return self._for(url).read(url)

    def write(self, url: str, data: bytes) -> None:
        self._for(url).write(url, data)

    def close(self) -> None:
        self._http.close()
