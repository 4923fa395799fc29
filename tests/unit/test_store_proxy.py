"""The fault-test proxy reads the command of an OP_MSG as the store would (tests.support.store_proxy)."""

from __future__ import annotations

import struct

import bson

from tests.support.store_proxy import HEADER, OP_MSG, command_of


def _op_msg(body: dict[str, object], sequences: dict[str, list[dict[str, object]]], op_code: int = OP_MSG) -> bytes:
    sections = b"\x00" + bson.encode(body)
    for identifier, documents in sequences.items():
        payload = identifier.encode() + b"\x00" + b"".join(bson.encode(document) for document in documents)
        sections += b"\x01" + struct.pack("<i", 4 + len(payload)) + payload
    message = struct.pack("<I", 0) + sections
    return HEADER.pack(HEADER.size + len(message), 7, 0, op_code) + message


def test_the_command_body_and_its_document_sequences_are_read() -> None:
    message = _op_msg({"update": "listings", "ordered": True, "$db": "trading"},
                      {"updates": [{"q": {"_id": "L-1"}, "u": {"$inc": {"version": 1}}},
                                   {"q": {"_id": "L-2"}, "u": {"$inc": {"version": 1}}}]})
    command = command_of(message)
    assert command is not None
    assert command["update"] == "listings"
    assert [update["q"]["_id"] for update in command["updates"]] == ["L-1", "L-2"]


def test_a_command_with_its_documents_in_the_body_is_read() -> None:
    command = command_of(_op_msg({"update": "listings", "updates": [{"q": {"_id": "L-3"}}]}, {}))
    assert command is not None and command["updates"][0]["q"]["_id"] == "L-3"


def test_other_kinds_of_message_carry_no_command() -> None:
    assert command_of(_op_msg({"find": "listings"}, {}, op_code=2004)) is None
