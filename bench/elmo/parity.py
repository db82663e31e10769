"""Parity of tweetsent's ELMo biLM with allennlp 2.10.1's `_ElmoBiLm` on generated weight files.

    PYTHONPATH=src nice -n 10 /work/scratch/allennlp-venv/bin/python bench/elmo/parity.py

Generates two models with random weights in the official layout (options.json + HDF5, written
by tweetsent's writer): one with the small official model's shape, one with several filter
widths, tanh, two highway layers and three LSTM layers. Both implementations load the same
files and embed the same sentences (emoji, accents, a token longer than 50 bytes, an empty
sentence, lengths 0-40) in batches of 8; allennlp gets a fresh state per batch
(`reset_states()`). Prints the max absolute difference per layer, then the same for the
stateful mode over consecutive batches, then for cased tweets as a classifier feeds them
(`embed.elmo_input = raw`: `Normalizer.aligned` pieces, each token gathering its piece's
vectors, against allennlp on the same pieces gathered by the same index), and exits 1 if any
difference exceeds 1e-5. The second model's options.json says `n_characters: 261` (bilm-tf's
training value), the first 262. Last, for information only (not counted): how far the two
differ on sentences holding a literal `<S>` / `</S>` token, which allennlp encodes as its
sentence-boundary characters and tweetsent as text.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import reference
import torch

from tweetsent.embed.elmo import ElmoBiLm, ElmoOptions, batch_to_ids, load_bilm, save_hdf5
from tweetsent.embed.elmo.embedder import _to_tokens
from tweetsent.text import Normalizer

SMALL_FILTERS = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024))
MODELS = {
    "small shape (2x1024_128, 7 widths, 1 highway, relu)": ElmoOptions(
        filters=SMALL_FILTERS,
        char_embed_dim=16,
        n_highway=1,
        activation="relu",
        lstm_dim=1024,
        projection_dim=128,
        n_layers=2,
        cell_clip=3.0,
        proj_clip=3.0,
    ),
    "multi-width (3x256_64, 6 widths, 2 highways, tanh, clips 0.5/0.25)": ElmoOptions(
        filters=((1, 8), (2, 16), (3, 16), (4, 32), (5, 32), (6, 64)),
        char_embed_dim=8,
        n_highway=2,
        activation="tanh",
        lstm_dim=256,
        projection_dim=64,
        n_layers=3,
        cell_clip=0.5,
        proj_clip=0.25,  # small clips: both clippings act on many values
    ),
}
TEXT = (
    "i love this new phone :) the battery is awful today #fail @friend lol !!! "
    "café naïve 東京 🙂 😂 👍🏽 🇬🇧 soooooo gooood http://t.co/x 42 ... can't won't"
)
WORDS = TEXT.split()
LONG_TOKEN = "supercalifragilistic" * 4  # 80 bytes: cut at 48 bytes + the word markers


TWEETS = [
    "Pink Floyd @RogerWaters tonight!!! SOOOO GOOD #Legend http://t.co/AbC",
    "I can't believe it's 3.39 already... Don't go :((( 😂😂😂",
    "RT @BBCNews: Storm warning for the U.K. &amp; Ireland, 2nd in a row",
    "café naïve 東京 🙂 👍🏽 🇬🇧 İstanbul",
    "",
    "ok",
]
MARKER_SENTENCES = [["<S>", "hello", "</S>"], ["a", "<S>", "b", "c"], ["say", "</S>"]]


def sentences(count: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    out = [[], [LONG_TOKEN], ["🙂" * 20, LONG_TOKEN, "x"]]
    while len(out) < count:
        out.append([rng.choice(WORDS) for _ in range(rng.randint(1, 40))])
    rng.shuffle(out)
    return out


def generated(options: ElmoOptions, gain: float) -> ElmoBiLm:
    """Random weights in the generated file; LSTM weights multiplied by `gain` (default 1)."""
    bilm = ElmoBiLm(options)
    with torch.no_grad():
        for layer in bilm.lstm_layers:
            for weight in (layer.w_input, layer.w_hidden, layer.w_proj):
                weight.mul_(gain)
    return bilm


def reference_ids(mapper, batch: list[list[str]]) -> torch.Tensor:
    longest = max((len(s) for s in batch), default=0)
    ids = torch.zeros(len(batch), longest, 50, dtype=torch.long)
    for row, sentence in enumerate(batch):
        for col, token in enumerate(sentence):
            ids[row, col] = torch.tensor(mapper.convert_word_to_char_ids(token))
    return ids


def compare(ref_lib, files: tuple[Path, Path], batches, stateful: bool, dtype) -> list:
    ours = load_bilm(*files, stateful=stateful).to(dtype)
    theirs = ref_lib.ElmoBiLm(*map(str, files)).eval().to(dtype)
    mapper = ref_lib.CharacterMapper()
    diffs = [0.0] * ours.num_output_layers
    peaks = [0.0] * ours.num_output_layers
    with torch.inference_mode():
        for batch in batches:
            ids = batch_to_ids(batch)
            assert torch.equal(ids, reference_ids(mapper, batch)), "character ids differ"
            if not stateful:
                theirs._elmo_lstm.reset_states()  # fresh state per batch
            mine = ours(ids)
            out = theirs(ids)
            for k, act in enumerate(out["activations"]):
                layer, mask = ref_lib.remove_sentence_boundaries(act, out["mask"])
                assert torch.equal(mask, mine.mask), "masks differ"
                diffs[k] = max(diffs[k], (layer - mine.layers[k]).abs().max().item())
                peaks[k] = max(peaks[k], layer.abs().max().item())
    return list(zip(diffs, peaks, strict=True))


def compare_tweets(ref_lib, files: tuple[Path, Path], dtype) -> list:
    """Cased tweets as a classifier's biLM reads them (raw pieces, gathered per token)."""
    inputs = [Normalizer().aligned(text, "raw")[1] for text in TWEETS]
    pieces = [list(x.pieces) for x in inputs]
    ours = load_bilm(*files).to(dtype)
    theirs = ref_lib.ElmoBiLm(*map(str, files)).eval().to(dtype)
    mapper = ref_lib.CharacterMapper()
    ids = batch_to_ids(pieces)
    assert torch.equal(ids, reference_ids(mapper, pieces)), "character ids differ"
    rows = []
    with torch.inference_mode():
        mine, mine_mask = _to_tokens(ours(ids).layers, inputs)  # (L, B, T, D)
        out = theirs(ids)
        for k, act in enumerate(out["activations"]):
            layer, _ = ref_lib.remove_sentence_boundaries(act, out["mask"])  # (B, P, D)
            expected = torch.zeros_like(mine[k])
            for row, x in enumerate(inputs):
                expected[row, : len(x)] = layer[row, list(x.index)]
            rows.append(((expected - mine[k]).abs().max().item(), expected.abs().max().item()))
    assert mine_mask.sum().item() == sum(len(x) for x in inputs)
    return rows


def marker_difference(ref_lib, files: tuple[Path, Path]) -> tuple[float, float]:
    """Max |diff| on literal <S>/</S> tokens and on the other tokens of their sentences."""
    ours, theirs = load_bilm(*files), ref_lib.ElmoBiLm(*map(str, files)).eval()
    mapper = ref_lib.CharacterMapper()
    with torch.inference_mode():
        mine = ours(batch_to_ids(MARKER_SENTENCES)).layers
        out = theirs(reference_ids(mapper, MARKER_SENTENCES))
        layers = [ref_lib.remove_sentence_boundaries(a, out["mask"])[0] for a in out["activations"]]
    diff = (torch.stack(layers) - mine).abs().amax(dim=(0, 3))  # (B, T)
    marker = torch.zeros_like(diff, dtype=torch.bool)
    for row, sentence in enumerate(MARKER_SENTENCES):
        for col, token in enumerate(sentence):
            marker[row, col] = token in ("<S>", "</S>")
    mask = batch_to_ids(MARKER_SENTENCES).any(dim=2)
    return diff[marker].max().item(), diff[mask & ~marker].max().item()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gain", type=float, default=1.0, help="LSTM weight scale")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    ref_lib = reference.load()
    data = sentences(args.sentences)
    batches = [data[i : i + args.batch_size] for i in range(0, len(data), args.batch_size)]
    tokens = sum(len(s) for s in data)
    print(f"allennlp {ref_lib.version} ({ref_lib.source}), torch {torch.__version__}")
    print(
        f"{len(data)} sentences, {tokens} tokens, batches of {args.batch_size}, "
        f"LSTM weight gain {args.gain}, {args.dtype}\n"
    )
    print("| model | mode | layer | max abs diff | max abs value |")
    print("|---|---|---|---|---|")
    worst = 0.0
    markers: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed, (name, options) in enumerate(MODELS.items()):
            torch.manual_seed(seed)
            options_file, weights_file = Path(tmp, f"{seed}.json"), Path(tmp, f"{seed}.hdf5")
            options.save(options_file)
            if seed == 1:  # bilm-tf's training value: the same table
                raw = json.loads(options_file.read_text())
                raw["char_cnn"]["n_characters"] = 261
                options_file.write_text(json.dumps(raw))
            save_hdf5(generated(options, args.gain), weights_file)
            for mode in ("fresh state per batch", "stateful, consecutive batches"):
                files = (options_file, weights_file)
                rows = compare(ref_lib, files, batches, "stateful" in mode, dtype)
                for k, (diff, peak) in enumerate(rows):
                    label = "0 (char CNN)" if k == 0 else f"{k} (LSTM {k})"
                    print(f"| {name} | {mode} | {label} | {diff:.2e} | {peak:.2f} |")
                    worst = max(worst, diff)
            mode = "cased tweets, raw pieces gathered per token"
            for k, (diff, peak) in enumerate(compare_tweets(ref_lib, files, dtype)):
                label = "0 (char CNN)" if k == 0 else f"{k} (LSTM {k})"
                print(f"| {name} | {mode} | {label} | {diff:.2e} | {peak:.2f} |")
                worst = max(worst, diff)
            markers[name] = marker_difference(ref_lib, files)
    print(f"\nworst difference {worst:.2e} ({'within' if worst <= 1e-5 else 'ABOVE'} 1e-5)")
    print(
        "\nliteral <S> / </S> tokens (allennlp: boundary characters, tweetsent: text; not counted)"
    )
    for name, (on_marker, others) in markers.items():
        print(f"  {name}: max diff {on_marker:.2f} on those tokens, {others:.2f} on the others")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
