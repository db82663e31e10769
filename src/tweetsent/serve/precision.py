"""Numerics for serving: a text gets the same answer whatever else is in its batch.

Float32 matrix kernels (MKL, oneDNN) pick different code paths for different shapes, so the
same row can come out a few ulps apart in a batch of 1 and in a batch of 40; a reduction over
the time axis (attention softmax, A H) also rounds differently for different padded widths.
After the softmax that is ~1e-7 in a probability: enough to change the 6th decimal that the
API returns. Three settings (`tweetsent serve --precision`):

- `mixed` (default): word embeddings and the RNN encoder stay float32 (oneDNN's fast LSTM), every
  model call has at least MIN_ROWS rows (short batches are padded with empty tweets), and the
  pooling and the head run in float64. With >= 4 rows the float32 kernels give a row the same
  bits whatever the other rows and the width (checked on this machine's MKL: 0 differences in
  ~2,000 texts in random batches, and by tests/serve through a real server); the width-dependent
  reductions then differ by ~1e-16, far below float32 rounding of the answer. An ELMo biLM also
  runs in float64 (its float16-rounded output is exact in float32), as float32 noise in it
  could flip a float16 rounding.
- `float64`: the whole model in float64: no reliance on kernel behaviour, 2-5x slower on CPU here
  (PyTorch has no oneDNN LSTM for float64).
- `float32`: the model as trained; fastest; answers may differ in the 6th decimal by batch.
"""

from __future__ import annotations

from torch import nn

MIN_ROWS = 4


def apply_precision(model: nn.Module, precision: str) -> int:
    """Set the model up for `precision`; return the fewest rows a model call must have."""
    if precision == "float32":
        return 1
    own = getattr(model, "float64_head", None)
    if precision == "float64" or own is None:
        model.double()
        return 1
    own()  # pooling and head in float64 (tweetsent.models.precision)
    return MIN_ROWS
