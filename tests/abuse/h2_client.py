"""A raw HTTP/2 gRPC client (the `h2` package) that can refuse to read.

grpc's own client reads everything the server sends and buffers it on the caller's side, so a
"slow" grpc client never pushes back on the registry. This one advertises an initial stream window
of 0 and never sends WINDOW_UPDATE: the registry may not send a single byte of DATA on its
streams, exactly like a peer that stopped reading. It still answers PINGs and SETTINGS (h2 does that
on its own), so keepalive does not rescue the registry, and it records the trailers (HEADERS are
not flow-controlled) with which the registry ends a stream, e.g. RESOURCE_EXHAUSTED.

Loopback only; one reader thread per connection.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.settings
from google.protobuf.message import Message


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class StreamState:
    """What the registry told one stream: its grpc-status once it ended (None while open)."""

    status: int | None = None
    message: str = ""
    reset: bool = False
    data_bytes: int = 0


@dataclass
class StalledConnection:
    """One TCP connection on which streams are opened and never read."""

    host: str
    port: int
    authorization: str = ""
    window: int = 0
    streams: dict[int, StreamState] = field(default_factory=dict)
    closed: bool = False

    def __post_init__(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=5)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self._conn = h2.connection.H2Connection(config=config)
        self._conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.window,
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
            },
        )
        self._lock = threading.Lock()
        with self._lock:
            self._conn.initiate_connection()
            self._flush()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _flush(self) -> None:
        data = self._conn.data_to_send()
        if data:
            self._sock.sendall(data)

    def open(self, method: str, request: Message, *, end_stream: bool = True) -> int:
        """Start a call of `method` (`/pkg.Service/Method`) sending `request`; the stream id."""
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", method),
            (":authority", f"{self.host}:{self.port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ]
        if self.authorization:
            headers.append(("authorization", self.authorization))
        body = request.SerializeToString()
        with self._lock:
            stream_id = self._conn.get_next_available_stream_id()
            self.streams[stream_id] = StreamState()
            self._conn.send_headers(stream_id, headers)
            self._conn.send_data(stream_id, struct.pack(">BI", 0, len(body)) + body, end_stream=end_stream)
            self._flush()
        return stream_id

    def send(self, stream_id: int, request: Message, *, end_stream: bool = False) -> None:
        """Another message on an open client stream (heartbeats)."""
        body = request.SerializeToString()
        with self._lock:
            self._conn.send_data(stream_id, struct.pack(">BI", 0, len(body)) + body, end_stream=end_stream)
            self._flush()

    def _read(self) -> None:
        while not self.closed:
            try:
                data = self._sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                try:
                    events = self._conn.receive_data(data)
                    self._flush()  # SETTINGS and PING acknowledgements; never a WINDOW_UPDATE
                except Exception:
                    break
            for event in events:
                self._record(event)
        self.closed = True

    def _record(self, event: h2.events.Event) -> None:
        stream_id = getattr(event, "stream_id", None)
        state = self.streams.get(stream_id) if stream_id is not None else None
        if state is None:
            return
        if isinstance(event, h2.events.TrailersReceived | h2.events.ResponseReceived):
            headers = {_text(k): _text(v) for k, v in event.headers or []}
            if "grpc-status" in headers:  # trailers, or a trailers-only response
                state.status = int(headers["grpc-status"])
                state.message = headers.get("grpc-message", "")
        elif isinstance(event, h2.events.StreamReset):
            state.reset = True
        elif isinstance(event, h2.events.DataReceived):
            state.data_bytes += len(event.data)

    def ended(self) -> list[StreamState]:
        return [s for s in self.streams.values() if s.status is not None or s.reset]

    def close(self) -> None:
        """Drop the connection without a GOAWAY, as a crashed or vanished peer does."""
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._reader.join(5)
