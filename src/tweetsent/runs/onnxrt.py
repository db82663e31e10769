"""The RNN classifiers on ONNX Runtime, without torch: the fast path of `tweetsent predict`.

    model = OnnxModel(read_run("runs/default"))                 # in a helper process
    probs, counts = model.score(encoded)                         # EncodedSet -> scores
    scorer = OnnxScorer(read_run("runs/default"), threads=2)    # or threads here

Issue 15 measured where a `tweetsent predict` command spends its time: `import torch` alone is
0.9-2.7 s (a fifth to a third of the command); ONNX Runtime's import takes 0.2 s, and its LSTM
is about as fast as oneDNN's on an AVX2 CPU (0.65-0.73x on an AVX-512 one: docs/benchmarks.md).
For the models it can express, this module scores with ONNX Runtime and never imports torch:
the run's safetensors weights are read with numpy and written into an ONNX graph in memory
(`model_bytes`), as protobuf bytes written here, so neither torch nor the `onnx` package (a
1.5 s import) is needed; the graph always matches the weights, and nothing is cached on disk.

Supported (`supports`): `model.kind = "rnn"` over plain word vectors (no lexicon columns,
clusters or tweet features), LSTM or GRU, any number of layers, uni- or bidirectional, pooling
max, mean or last, the linear head; every other run (self-attention, CNN, n-gram, ELMo,
ensembles) is scored by torch. The graph computes what `SequenceClassifier` (with an
`RNNEncoder`) does in eval mode: embedding, the recurrent layers over each tweet's own length
(ONNX `sequence_lens`: the backward direction starts at the tweet's last token, as `RNNEncoder`
does), pooling that ignores padding, head, softmax; an empty tweet is read as one padding
token. Probabilities agree with the torch model's to float32 rounding (max |difference| ~4e-7
on 49,563 SemEval tweets, every label the same; tests/runs/test_onnxrt.py holds it to 1e-5 on
fixture models).

`OnnxModel.score` may be called from several threads at once (shared sessions, one intra-op
thread a call; ONNX Runtime releases the GIL), over the same length-grouped batches as
`runs.torch_scorer.run_model`: batches without padding on the unpadded graph's session, in
pieces of `PIECE_ROWS` rows; the few with padding on the padded graph's, opened when the first
arrives (one tweet never needs it). The `predict` command runs it in its helper process
(`runs.helper`); `OnnxScorer` runs it on threads of the caller's process (the Python API,
and platforms without fork). `runs.backends.open_scorer` chooses between them.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from tweetsent.errors import TweetsentError
from tweetsent.runs.inference import QueuedScorer

if TYPE_CHECKING:
    from tweetsent.config import RunConfig
    from tweetsent.data.prepare import EncodedSet
    from tweetsent.runs.rundir import LoadedRun

POOLINGS = ("max", "mean", "last")
CELLS = {"lstm": "LSTM", "gru": "GRU"}
# torch's gate blocks -> ONNX's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}
OPSET = 17
# Rows of an unpadded batch per session call: a 512-row batch in four pieces runs ~9% faster
# (each piece's LSTM gate buffer, T x rows x 4H per direction, stays in cache); every row's
# probabilities are the same as in one call (the kernels compute rows independently).
PIECE_ROWS = 128


def available() -> bool:
    """Whether onnxruntime is installed (not imported here: the scorer's thread imports it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def supports(config: RunConfig, weight_names: set[str]) -> bool:
    """Whether this module can score the run (`config`, the names in its weights file)."""
    m, e = config.model, config.embed
    if config.is_ensemble or m.kind != "rnn" or m.cell not in CELLS or m.pooling not in POOLINGS:
        return False
    if m.tweet_features or e.kind == "elmo" or e.lexicon or e.clusters:
        return False
    return weight_names == set(expected_shapes(config, 0, 0))


def scorable(run: LoadedRun) -> bool:
    """Whether onnxruntime is installed and supports the run (read by `runs.rundir.read_run`:
    its config and its weights file's header, no tensor read)."""
    from tweetsent.runs.rundir import WEIGHTS, weight_shapes

    try:
        names = set(weight_shapes(run.path / WEIGHTS))
    except TweetsentError:
        return False  # the torch path reports why
    return supports(run.config, names) and available()


def onnx_refusal(config: RunConfig, device: str = "cpu") -> str:
    """Why the onnx backend cannot score a run (for the one-line error of `--backend onnx`)."""
    m, e = config.model, config.embed
    if device != "cpu":
        return f"the onnx backend runs on the CPU, not {device!r}; use --backend torch"
    if not available():
        return "the onnx backend needs onnxruntime (pip install onnxruntime)"
    what = (
        "an ensemble"
        if config.is_ensemble
        else f"model.kind {m.kind!r}, cell {m.cell!r}, pooling {m.pooling!r}, "
        f"embed.kind {e.kind!r}"
        + (
            ", lexicon/cluster/tweet features"
            if e.lexicon or e.clusters or m.tweet_features
            else ""
        )
    )
    return (
        "the onnx backend scores RNN models (LSTM/GRU, max/mean/last pooling) over plain word "
        f"vectors; this run is {what}: use --backend torch or auto"
    )


def expected_shapes(config: RunConfig, vocab: int, labels: int) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of a supported run's weights file, for `vocab` tokens and
    `labels` labels (what `SequenceClassifier.state_dict()` holds)."""
    m = config.model
    dim, hidden = config.embed.dim, m.hidden_size
    gates = 4 if m.cell == "lstm" else 3
    dirs = 2 if m.bidirectional else 1
    shapes: dict[str, tuple[int, ...]] = {"embedder.embedding.weight": (vocab, dim)}
    for side in ["forward_layers", "backward_layers"][:dirs]:
        for k in range(m.num_layers):
            p = f"encoder.{side}.{k}"
            shapes[f"{p}.weight_ih_l0"] = (gates * hidden, dim if k == 0 else dirs * hidden)
            shapes[f"{p}.weight_hh_l0"] = (gates * hidden, hidden)
            shapes[f"{p}.bias_ih_l0"] = (gates * hidden,)
            shapes[f"{p}.bias_hh_l0"] = (gates * hidden,)
    shapes["head.1.weight"] = (labels, dirs * hidden)
    shapes["head.1.bias"] = (labels,)
    return shapes


def model_bytes(config: RunConfig, weights: dict[str, np.ndarray], padded: bool = True) -> bytes:
    """The serialized ONNX model of a supported run: inputs `tokens` (B, T) int64 (0 at
    padding), `lengths` (B,) int32 (each >= 1), `mask` (T, 1, B, 1) float32 (1 at real
    tokens); output `probs` (B, C) float32. Without `padded`, a graph for batches whose rows
    all have T tokens (most batches: `length_batches`): input `tokens` only, ~15% faster.

    Time-major throughout, with no copy of a (T, B, D) tensor that is not needed: the ids are
    transposed before the embedding gather, not the embeddings after it, and max or mean
    pooling reduces the last layer's output in its own layout (T, dirs, B, H); only the pooled
    (dirs, B, H) is transposed. The values are those of the batch-major order (a copy, and a
    reduction over axis 0 in the same order): ~4.5% less CPU on the default model."""
    m = config.model
    dirs = 2 if m.bidirectional else 1
    hidden = m.hidden_size
    g = _Graph()
    g.init("embedding", weights["embedder.embedding.weight"])
    g.node("Transpose", ["tokens"], ["tokens_t"], perm=[1, 0])  # (T, B)
    g.node("Gather", ["embedding", "tokens_t"], ["x0"])  # (T, B, D)
    x = "x0"
    y = y_h = ""
    if m.num_layers > 1:
        g.init("states_shape", np.array([0, 0, dirs * hidden], dtype=np.int64))
    for k in range(m.num_layers):
        if k:  # the previous layer's (T, dirs, B, H) -> the next one's input (T, B, dirs * H)
            g.node("Transpose", [y], [f"yt{k - 1}"], perm=[0, 2, 1, 3])  # (T, B, dirs, H)
            x = f"x{k}"
            g.node("Reshape", [f"yt{k - 1}", "states_shape"], [x])
        sides = ["forward_layers", "backward_layers"][:dirs]
        parts = [_onnx_weights(m.cell, weights, f"encoder.{side}.{k}") for side in sides]
        for i, name in enumerate("WRB"):
            g.init(f"{name}{k}", np.stack([p[i] for p in parts]))
        attrs: dict[str, Any] = {"hidden_size": hidden}
        attrs["direction"] = "bidirectional" if dirs == 2 else "forward"
        if m.cell == "gru":
            attrs["linear_before_reset"] = 1  # torch's GRU: r * (W_hn h + b_hn)
        y, y_h = f"y{k}", f"y_h{k}"  # (T, dirs, B, H), (dirs, B, H)
        rnn_inputs = [x, f"W{k}", f"R{k}", f"B{k}"] + (["lengths"] if padded else [])
        g.node(CELLS[m.cell], rnn_inputs, [y, y_h], **attrs)
    # last: the forward state at the last token, the backward one at the first (y_h)
    states = y_h if m.pooling == "last" else _pool(g, m.pooling, y, padded)  # (dirs, B, H)
    g.node("Transpose", [states], ["states_t"], perm=[1, 0, 2])  # (B, dirs, H)
    g.init("pooled_shape", np.array([0, dirs * hidden], dtype=np.int64))
    g.node("Reshape", ["states_t", "pooled_shape"], ["pooled"])  # (B, dirs * H)
    g.init("head_w", np.ascontiguousarray(weights["head.1.weight"].T))
    g.init("head_b", weights["head.1.bias"])
    g.node("MatMul", ["pooled", "head_w"], ["scaled"])
    g.node("Add", ["scaled", "head_b"], ["logits"])
    g.node("Softmax", ["logits"], ["probs"], axis=-1)
    inputs: list[tuple[str, int, list[int | str]]] = [("tokens", _INT64, ["batch", "time"])]
    if padded:
        inputs += [("lengths", _INT32, ["batch"]), ("mask", _FLOAT, ["time", 1, "batch", 1])]
    return g.model(inputs, [("probs", _FLOAT, ["batch", len(weights["head.1.bias"])])])


def _pool(g: _Graph, pooling: str, y: str, padded: bool) -> str:
    """Nodes pooling the last layer's output `y` (T, dirs, B, H) over time, max or mean, where
    `padded` over each tweet's real tokens (`mask` (T, 1, B, 1)); the pooled (dirs, B, H)."""
    op = "ReduceMax" if pooling == "max" else "ReduceMean"
    if not padded:
        g.node(op, [y], ["pooled_t"], axes=[0], keepdims=0)
    elif pooling == "max":  # padding never wins: -inf there (every tweet has a token)
        g.init("minus_inf", np.array([-np.inf], dtype=np.float32))
        g.init("zero", np.array([0.0], dtype=np.float32))
        g.node("Greater", ["mask", "zero"], ["real"])
        g.node("Where", ["real", y, "minus_inf"], ["masked"])
        g.node("ReduceMax", ["masked"], ["pooled_t"], axes=[0], keepdims=0)
    else:  # mean over real tokens
        g.init("axis0", np.array([0], dtype=np.int64))
        g.node("Mul", [y, "mask"], ["kept"])
        g.node("ReduceSum", ["kept", "axis0"], ["total"], keepdims=0)  # (dirs, B, H)
        g.node("ReduceSum", ["mask", "axis0"], ["count"], keepdims=0)  # (1, B, 1)
        g.node("Div", ["total", "count"], ["pooled_t"])
    return "pooled_t"


def _onnx_weights(cell: str, w: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    """One direction's (W, R, B) in ONNX layout and gate order, from torch's."""
    order = GATE_ORDER[cell]

    def gates(a: np.ndarray) -> np.ndarray:
        blocks = np.split(a, len(order), axis=0)
        return np.concatenate([blocks[i] for i in order], axis=0)

    bias = np.concatenate([gates(w[f"{prefix}.bias_ih_l0"]), gates(w[f"{prefix}.bias_hh_l0"])])
    return [gates(w[f"{prefix}.weight_ih_l0"]), gates(w[f"{prefix}.weight_hh_l0"]), bias]


class OnnxModel:
    """A supported run's model on ONNX Runtime: `score(EncodedSet)`, callable from several
    threads at once (shared sessions, one intra-op thread each call).

    The unpadded graph's session is opened here; the padded one's only when a batch with
    padding first arrives (a few batches of a large input, none of a single tweet: a graph
    and a session fewer on the one-tweet command's critical path). Unpadded batches are run
    in pieces of `PIECE_ROWS` rows (rows are independent: the probabilities are the same)."""

    def __init__(self, run: LoadedRun, batch_size: int = 512) -> None:
        """`run`: the run directory as `runs.rundir.read_run` reads it (no weights)."""
        import onnxruntime as ort
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        from tweetsent.runs.rundir import WEIGHTS, compare_shapes

        self.batch_size = batch_size
        config, path = run.config, run.path / WEIGHTS
        try:
            weights = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise TweetsentError(f"{path}: cannot read weights ({exc})") from None
        if not supports(config, set(weights)):
            raise TweetsentError(f"{path}: {onnx_refusal(config)}")
        for name, array in weights.items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise TweetsentError(f"{path}: weights hold NaN or infinite values ({name})")
        weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        expected = expected_shapes(config, len(run.vocab), len(run.labels))
        compare_shapes(expected, {k: v.shape for k, v in weights.items()}, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # parallel calls, not parallel kernels
        options.inter_op_num_threads = 1
        options.log_severity_level = 3

        def session(padded: bool) -> Any:
            graph = model_bytes(config, weights, padded)
            return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

        self._unpadded = session(False)
        self._open_padded: Callable[[bool], Any] | None = session  # holds the weights till then
        self._padded_session: Any = None
        self._lock = threading.Lock()

    def score(self, data: EncodedSet) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (n, C) float32 and token counts (n,) of `data`, in its order."""
        from tweetsent.data.batching import length_batches, pad_ids  # import no torch

        probs: np.ndarray | None = None
        for index in length_batches(data.lengths, self.batch_size):
            tokens, lengths = pad_ids(data, index)
            if int(lengths.min()) == tokens.shape[1]:  # no padding (most batches)
                out = np.concatenate(
                    [
                        self._unpadded.run(["probs"], {"tokens": tokens[i : i + PIECE_ROWS]})[0]
                        for i in range(0, len(tokens), PIECE_ROWS)
                    ]
                )
            else:  # mask (T, 1, B, 1): 1 at real tokens
                mask = np.arange(tokens.shape[1])[:, None] < lengths[None, :]  # (T, B)
                feed = {"tokens": tokens, "lengths": lengths.astype(np.int32)}
                feed["mask"] = mask.astype(np.float32)[:, None, :, None]
                out = self._padded().run(["probs"], feed)[0]
            if probs is None:
                probs = np.zeros((len(data), out.shape[1]), dtype=np.float32)
            probs[index] = out
        if probs is None:
            probs = np.zeros((0, 0), dtype=np.float32)
        return probs, data.lengths

    def _padded(self) -> Any:
        """The padded graph's session, opened by the first caller that needs it."""
        with self._lock:  # one build; other threads wait for it
            if self._padded_session is None:
                assert self._open_padded is not None
                self._padded_session = self._open_padded(True)
                self._open_padded = None  # the weights are the session's now
            return self._padded_session


class OnnxScorer(QueuedScorer):
    """An `OnnxModel` in this process, scoring on `threads` threads (module doc): the
    `runs.inference.Scorer` of the onnx backend (`runs.backends.open_scorer` starts it for a
    run that `scorable` accepts).

    The model is built in the first thread while the caller goes on (the constructor returns
    at once); `submit` queues behind it. Weights that cannot be read fail the first `submit`'s
    future with a one-line `TweetsentError`."""

    def __init__(self, run: LoadedRun, threads: int = 1, batch_size: int = 512) -> None:
        self.threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="tweetsent-onnx")
        self._model = self._pool.submit(OnnxModel, run, batch_size)

    def submit(self, data: EncodedSet) -> Future:
        return self._pool.submit(self._score, data)

    def wait_ready(self) -> dict[str, Any]:
        self._model.result()
        return {"has_attention": False}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _score(self, data: EncodedSet) -> tuple[np.ndarray, np.ndarray]:
        return self._model.result().score(data)  # raises what the load raised


# -- ONNX protobuf, written directly (wire format: varints and length-delimited fields) --------

_FLOAT, _INT32, _INT64 = 1, 6, 7  # TensorProto.DataType
_DTYPES = {np.dtype(np.float32): _FLOAT, np.dtype(np.int32): _INT32, np.dtype(np.int64): _INT64}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: two's complement, ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field (wire type 2): bytes, a string or an embedded message."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _int(number: int, value: int) -> bytes:
    """A varint field (wire type 0)."""
    return _varint(number << 3) + _varint(value)


def _attribute(name: str, value: Any) -> bytes:
    """AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3,
    INTS 7)."""
    out = _field(1, name)
    if isinstance(value, str):
        return out + _field(4, value) + _int(20, 3)
    if isinstance(value, float):
        return out + _varint(2 << 3 | 5) + struct.pack("<f", value) + _int(20, 1)
    if isinstance(value, list):
        return out + b"".join(_int(8, v) for v in value) + _int(20, 7)
    return out + _int(3, int(value)) + _int(20, 2)


def _value_info(name: str, dtype: int, dims: list[int | str]) -> bytes:
    """ValueInfoProto{name 1, type 2: TypeProto{tensor_type 1: {elem_type 1, shape 2}}}."""
    shape = b"".join(
        _field(1, _field(2, d) if isinstance(d, str) else _int(1, d)) for d in dims
    )  # TensorShapeProto.dim: dim_value 1 | dim_param 2
    return _field(1, name) + _field(2, _field(1, _int(1, dtype) + _field(2, shape)))


class _Graph:
    """Nodes and initializers of one ONNX graph, serialized by `model`.

    An initializer is kept as its header and a view of the array's bytes, and `model` joins
    every piece once: the weights are copied into the serialized model once, not once per
    enclosing message (the embedding matrix is most of the model: ~10 ms less per graph on
    the default model, on the helper's critical path)."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.initializers: list[list[bytes | memoryview]] = []  # [header, raw data]

    def node(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        """NodeProto: input 1, output 2, name 3, op_type 4, attribute 5."""
        body = b"".join(_field(1, i) for i in inputs) + b"".join(_field(2, o) for o in outputs)
        body += _field(3, f"{op}_{len(self.nodes)}") + _field(4, op)
        body += b"".join(_field(5, _attribute(k, v)) for k, v in attrs.items())
        self.nodes.append(body)

    def init(self, name: str, array: np.ndarray) -> None:
        """TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian)."""
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        data = array.data.cast("B")  # a view of the array's bytes, not a copy
        body = b"".join(_int(1, d) for d in array.shape) + _int(2, _DTYPES[array.dtype])
        body += _field(8, name) + _varint(9 << 3 | 2) + _varint(len(data))
        self.initializers.append([body, data])

    def model(self, inputs: list[tuple], outputs: list[tuple]) -> bytes:
        """ModelProto{ir_version 1, producer_name 2, graph 7, opset_import 8}; GraphProto{node
        1, name 2, initializer 5, input 11, output 12}."""
        graph: list[bytes | memoryview] = [_field(1, n) for n in self.nodes]
        graph.append(_field(2, "tweetsent"))
        for pieces in self.initializers:
            graph += _message(5, pieces)
        graph += [_field(11, _value_info(*i)) for i in inputs]
        graph += [_field(12, _value_info(*o)) for o in outputs]
        opset = _field(1, "") + _int(2, OPSET)
        head = _int(1, 8) + _field(2, "tweetsent")
        return b"".join([head, *_message(7, graph), _field(8, opset)])


def _message(number: int, pieces: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """A length-delimited field whose payload is `pieces` joined, left in pieces (`_field`
    without the copy)."""
    return [_varint(number << 3 | 2) + _varint(sum(len(p) for p in pieces)), *pieces]
