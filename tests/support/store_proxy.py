"""A loopback TCP proxy in front of a test's own store that can act at the moment one chosen command
passes through it: fault tests aim a store pause at "this very write has gone out" instead of at a time
guessed from the machine's speed.

It reads the MongoDB wire protocol only as far as it needs: the message header (16 bytes) and, for
OP_MSG, the command document (section kind 0) and its document sequences (kind 1, e.g. an `updates`
list). Everything is forwarded unchanged; nothing is answered by the proxy itself.

When an armed trigger's `matches(command)` holds, the proxy forwards that command to the store, then
calls the trigger's `act()` (a test pauses the store there) and holds the store's replies on that one
connection until `release()`: if the store answered before the pause reached it, the client still does
not learn the outcome in time, which is the case under test (a write that went out and whose answer did
not come back). The closing of a held connection is passed on to the store only after release and
after the store answered the held command, so a store that reads the command after resuming does not
meet a closed connection first.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

import bson

OP_MSG = 2013
HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
# How long a held connection stays open after its release for the store to answer the held command.
ANSWER_WAIT_SECONDS = 30.0


def _receive_exactly(connection: socket.socket, size: int) -> bytes | None:
    """`size` bytes, or None when the peer closed first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def command_of(message: bytes) -> dict[str, Any] | None:
    """The command an OP_MSG carries, its document sequences merged in under their identifiers (None
    for other kinds of message)."""
    _, _, _, op_code = HEADER.unpack_from(message)
    if op_code != OP_MSG:
        return None
    position = HEADER.size + 4  # after the flag bits
    command: dict[str, Any] = {}
    sequences: dict[str, list[dict[str, Any]]] = {}
    while position < len(message):
        kind = message[position]
        position += 1
        (size,) = struct.unpack_from("<i", message, position)
        if kind == 0:
            command = bson.decode(message[position:position + size])
        elif kind == 1:
            identifier_end = message.index(b"\x00", position + 4)
            identifier = message[position + 4:identifier_end].decode()
            sequences[identifier] = bson.decode_all(message[identifier_end + 1:position + size])
        else:
            break  # a checksum or an unknown section: the command is already read
        position += size
    return {**command, **sequences}


class Trigger:
    """Acts once, at the first command that `matches`, while armed."""

    def __init__(self, matches: Callable[[dict[str, Any]], bool], act: Callable[[], None]) -> None:
        self.matches = matches
        self.act = act
        self.fired = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


class StoreProxy:
    """Listens on 127.0.0.1 (a free port, `port`) and forwards each connection to `store_port`."""

    def __init__(self, store_port: int) -> None:
        self.store_port = store_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._trigger: Trigger | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="store-proxy-accept", daemon=True).start()

    def arm(self, trigger: Trigger) -> None:
        with self._lock:
            self._trigger = trigger

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            if self._trigger is not None:
                self._trigger.release()
            for open_socket in [self._listener, *self._sockets]:
                open_socket.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
                store = socket.create_connection(("127.0.0.1", self.store_port))
            except OSError:
                return
            with self._lock:
                self._sockets += [client, store]
            link = _Link()
            threading.Thread(target=self._to_store, args=(client, store, link), daemon=True).start()
            threading.Thread(target=self._to_client, args=(store, client, link), daemon=True).start()

    def _claim_if_matching(self, message: bytes, link: _Link) -> Trigger | None:
        """The armed trigger when `message` matches it: from here on this connection's replies are held
        (set before the message goes out, so not even a quick answer slips through)."""
        with self._lock:
            trigger = self._trigger
            if trigger is None or trigger.fired.is_set():
                return None
            command = command_of(message)
            if command is None or not trigger.matches(command):
                return None
            trigger.fired.set()
            self._trigger = None
        link.holding = trigger
        return trigger

    def _to_store(self, client: socket.socket, store: socket.socket, link: _Link) -> None:
        try:
            while True:
                header = _receive_exactly(client, HEADER.size)
                if header is None:
                    break
                (length, _, _, _) = HEADER.unpack(header)
                body = _receive_exactly(client, length - HEADER.size)
                if body is None:
                    break
                claimed = self._claim_if_matching(header + body, link)
                store.sendall(header + body)
                if claimed is not None:
                    claimed.act()
        except OSError:
            pass
        if link.holding is not None:
            # The client gave up on the held command; the store keeps its connection until it has
            # answered that command, so the store finishes it as it would for a client still waiting.
            link.holding.released.wait()
            link.answered.wait(ANSWER_WAIT_SECONDS)
        store.close()
        client.close()

    def _to_client(self, store: socket.socket, client: socket.socket, link: _Link) -> None:
        try:
            while True:
                chunk = store.recv(65536)
                if not chunk:
                    break
                if link.holding is not None:
                    link.answered.set()
                    link.holding.released.wait()
                client.sendall(chunk)
        except OSError:
            pass
        client.close()


class _Link:
    """One client connection's state: the trigger whose command it carried (its replies are held until
    that trigger is released) and whether the store has answered since."""

    def __init__(self) -> None:
        self.holding: Trigger | None = None
        self.answered = threading.Event()
