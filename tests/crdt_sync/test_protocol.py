"""y-websocket frames decode exactly, and malformed ones are refused with a reason."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Text, create_sync_message, create_update_message

from crdt_sync import protocol
from crdt_sync.protocol import MessageType, ProtocolError, SyncType


def test_frames_made_by_pycrdt_decode_as_the_protocol_says():
    doc = Doc()
    doc.get("t", type=Text).insert(0, "Parties [shall] act")
    step1 = protocol.decode(create_sync_message(doc))
    assert (step1.type, step1.sync, step1.payload) == (
        MessageType.SYNC,
        SyncType.STEP1,
        doc.get_state(),
    )
    update = protocol.decode(create_update_message(doc.get_update()))
    assert (update.sync, update.payload) == (SyncType.UPDATE, doc.get_update())


@given(
    st.binary(max_size=300),
    st.sampled_from(
        [protocol.sync_step1, protocol.sync_step2, protocol.sync_update, protocol.awareness]
    ),
)
def test_encoding_then_decoding_gives_back_the_payload(payload, encode):
    assert protocol.decode(encode(payload)).payload == payload


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "empty frame"),
        (b"\x07", "unknown message type 7"),
        (b"\x00\x05\x00", "unknown sync message type 5"),
        (b"\x00\x02\x10abc", "announces 16 bytes but only 3 follow"),
        (b"\x00\x02\x01ab", "1 unexpected bytes"),
        (b"\x00\x02\xff\xff", "ends inside a number"),
    ],
)
def test_malformed_frames_are_refused_with_what_is_wrong(frame, reason):
    with pytest.raises(ProtocolError, match=reason):
        protocol.decode(frame)


@given(st.binary(max_size=64))
def test_no_byte_string_makes_the_decoder_fail_other_than_with_a_protocol_error(data):
    with contextlib.suppress(ProtocolError):
        protocol.decode(data)


def test_permission_denied_carries_its_reason():
    assert protocol.permission_denied("read only") == b"\x02\x00\x09read only"
