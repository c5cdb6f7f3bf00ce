#!/usr/bin/env python3
"""An independent reader of TensorBoard event files, for test/report/tensorboard.test.ts.

It shares nothing with bstar's writer (src/report/tensorboard.ts): the TFRecord framing and its
masked CRC-32C are checked with a CRC written here from the Castagnoli polynomial, and each record is
decoded by the protobuf runtime (Debian's python3-protobuf) against Event, Summary and SessionLog
descriptors built here by hand with descriptor_pb2 from tensorflow/core/util/event.proto and
tensorflow/core/framework/summary.proto (field numbers and types as published; tensorboard itself is
not installed). Fields bstar does not write are declared too, so a wrong field number or wire type
would decode into the wrong field or fail, not pass unnoticed.

Usage: read_tfevents.py DIR  -> JSON on stdout: [{"file", "events": [{"wall_time", "step",
"file_version"?, "session_status"?, "scalars"?: [[tag, value], ...]}]}] for each events.out.tfevents.*
file in DIR, sorted by name. Any framing, CRC or decoding problem exits non-zero with a message.
"""
import json
import os
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool

try:
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # protobuf < 4.22
    from google.protobuf import message_factory

    _factory = message_factory.MessageFactory()

    def GetMessageClass(desc):
        return _factory.GetPrototype(desc)


# ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


# ---- the messages, from the .proto files
F = descriptor_pb2.FieldDescriptorProto


def field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


fdp = descriptor_pb2.FileDescriptorProto(name="bstar_test_event.proto", package="tensorflow", syntax="proto3")

summary = fdp.message_type.add(name="Summary")
value = summary.nested_type.add(name="Value")
value.oneof_decl.add(name="value")
field(value, "node_name", 7, F.TYPE_STRING)
field(value, "tag", 1, F.TYPE_STRING)
field(value, "metadata", 9, F.TYPE_BYTES)  # SummaryMetadata: not needed, kept opaque
field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
field(value, "obsolete_old_style_histogram", 3, F.TYPE_BYTES, oneof=0)
field(value, "image", 4, F.TYPE_BYTES, oneof=0)
field(value, "histo", 5, F.TYPE_BYTES, oneof=0)
field(value, "audio", 6, F.TYPE_BYTES, oneof=0)
field(value, "tensor", 8, F.TYPE_BYTES, oneof=0)
field(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".tensorflow.Summary.Value")

session_log = fdp.message_type.add(name="SessionLog")
status = session_log.enum_type.add(name="SessionStatus")
for i, n in enumerate(["STATUS_UNSPECIFIED", "START", "STOP", "CHECKPOINT"]):
    status.value.add(name=n, number=i)
field(session_log, "status", 1, F.TYPE_ENUM, type_name=".tensorflow.SessionLog.SessionStatus")
field(session_log, "checkpoint_path", 2, F.TYPE_STRING)
field(session_log, "msg", 3, F.TYPE_STRING)

event = fdp.message_type.add(name="Event")
event.oneof_decl.add(name="what")
field(event, "wall_time", 1, F.TYPE_DOUBLE)
field(event, "step", 2, F.TYPE_INT64)
field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
field(event, "graph_def", 4, F.TYPE_BYTES, oneof=0)
field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".tensorflow.Summary", oneof=0)
field(event, "log_message", 6, F.TYPE_BYTES, oneof=0)
field(event, "session_log", 7, F.TYPE_MESSAGE, type_name=".tensorflow.SessionLog", oneof=0)
field(event, "tagged_run_metadata", 8, F.TYPE_BYTES, oneof=0)
field(event, "meta_graph_def", 9, F.TYPE_BYTES, oneof=0)

pool = descriptor_pool.DescriptorPool()
pool.Add(fdp)
Event = GetMessageClass(pool.FindMessageTypeByName("tensorflow.Event"))


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        if len(data) - i < 12:
            sys.exit(f"{path}: {len(data) - i} trailing bytes at offset {i}, less than a record header")
        (n,) = struct.unpack_from("<Q", data, i)
        (lcrc,) = struct.unpack_from("<I", data, i + 8)
        if masked(crc32c(data[i : i + 8])) != lcrc:
            sys.exit(f"{path}: bad length CRC at offset {i}")
        body = data[i + 12 : i + 12 + n]
        if len(body) != n or len(data) < i + 16 + n:
            sys.exit(f"{path}: record at offset {i} is cut short")
        (dcrc,) = struct.unpack_from("<I", data, i + 12 + n)
        if masked(crc32c(body)) != dcrc:
            sys.exit(f"{path}: bad data CRC at offset {i}")
        yield body
        i += 16 + n


def main():
    d = sys.argv[1]
    out = []
    for name in sorted(os.listdir(d)):
        if not name.startswith("events.out.tfevents."):
            continue
        evs = []
        for body in records(os.path.join(d, name)):
            e = Event()
            e.ParseFromString(body)
            if e.SerializeToString() != body:
                sys.exit(f"{name}: an event does not re-encode to its bytes (unknown fields or wrong types)")
            x = {"wall_time": e.wall_time, "step": e.step}
            what = e.WhichOneof("what")
            if what == "file_version":
                x["file_version"] = e.file_version
            elif what == "session_log":
                x["session_status"] = descriptor_pool_status(e.session_log.status)
            elif what == "summary":
                vals = []
                for v in e.summary.value:
                    if v.WhichOneof("value") != "simple_value":
                        sys.exit(f"{name}: summary value {v.tag!r} is not a simple_value")
                    vals.append([v.tag, v.simple_value])
                x["scalars"] = vals
            else:
                sys.exit(f"{name}: unexpected event kind {what}")
            evs.append(x)
        out.append({"file": name, "events": evs})
    json.dump(out, sys.stdout)


def descriptor_pool_status(n):
    return pool.FindEnumTypeByName("tensorflow.SessionLog.SessionStatus").values_by_number[n].name


if __name__ == "__main__":
    main()
