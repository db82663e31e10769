"""Attention you can see: what a self-attention model (Lin et al. 2017) looked at in a tweet.

    explanation = explain(Predictor.from_run("runs/attention"), "not bad at all :)")
    render_png(explanation, "why.png")   # heatmap: tokens on x, one row per hop + highlighted text
    html = render_html(explanation)      # <div> with inline styles, no external assets

The heatmap is the paper's figure (Lin et al. 2017, ICLR, Fig. 2): row k is hop k of
A = softmax(W_s2 tanh(W_s1 H^T)), colour = weight. The highlighted line shades each token by
its weight averaged over the hops, scaled so that the largest weight is the darkest.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_path, atomic_write
from tweetsent.runs.predict import Predictor

EMPTY = "(empty)"  # the token shown when nothing was left after cleaning
RGB = (203, 24, 29)  # the dark end of matplotlib's "Reds", for the HTML shading


@dataclass
class Explanation:
    text: str
    label: str
    probs: dict[str, float]
    tokens: list[str]  # after cleaning, as the model read them
    weights: list[float]  # per token, averaged over the hops
    hops: list[list[float]]  # (r, tokens): one attention distribution per hop

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The k tokens with the largest mean weight, largest first."""
        pairs = sorted(zip(self.tokens, self.weights, strict=True), key=lambda p: -p[1])
        return pairs[:k]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def explain(predictor: Predictor, text: str) -> Explanation:
    """Label one tweet and return its tokens with their attention weights."""
    if not predictor.has_attention:
        pooling = predictor.run.config.model.pooling
        raise TweetsentError(
            f"{predictor.run.path}: pooling is {pooling!r}; explain needs a self-attention "
            "model (train with --pooling attention or --attention-preset study)"
        )
    pred = predictor.predict([text], attention=True)[0]
    tokens = [EMPTY] if pred.empty else list(pred.tokens or [EMPTY])
    return Explanation(
        text=text,
        label=pred.label,
        probs=pred.probs,
        tokens=tokens,
        weights=list(pred.attention or [1.0]),
        hops=[list(row) for row in pred.attention_hops or [[1.0]]],
    )


def write_explanation(explanation: Explanation, path: str | Path) -> Path:
    """FILE.png -> `render_png`; FILE.html / FILE.htm -> a standalone page with every hop."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return render_png(explanation, path)
    if suffix in (".html", ".htm"):
        with atomic_write(path, "w", encoding="utf-8") as handle:
            handle.write(render_html(explanation, hops=True, standalone=True))
        return path
    raise TweetsentError(f"{path}: explain writes .png or .html files, not {suffix or 'no suffix'}")


def render_html(explanation: Explanation, hops: bool = False, standalone: bool = False) -> str:
    """The tweet with each token shaded by its mean weight (title = the weight), as a <div>
    with inline styles only; `hops` adds one shaded line per hop, `standalone` a whole page."""
    e = explanation
    prob = e.probs.get(e.label, 0.0)
    parts = [
        '<div class="tweetsent-explanation" style="font-family: sans-serif; line-height: 2;">',
        f'<div style="font-weight: bold;">{html.escape(e.label)} ({prob:.3f})</div>',
        f'<div class="tokens">{_shaded(e.tokens, e.weights)}</div>',
    ]
    if hops and len(e.hops) > 1:
        parts.append('<table style="border-collapse: collapse; font-size: 0.85em;">')
        for k, row in enumerate(e.hops, start=1):
            parts.append(
                f'<tr><td style="color: #666; padding-right: 0.5em;">hop {k}</td>'
                f"<td>{_shaded(e.tokens, row)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</div>")
    body = "\n".join(parts)
    if not standalone:
        return body
    title = html.escape(f"tweetsent: {e.text}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _shaded(tokens: list[str], weights: list[float]) -> str:
    top = max(weights, default=0.0) or 1.0
    spans = []
    for token, weight in zip(tokens, weights, strict=True):
        alpha = weight / top  # 1 = the most attended token
        colour = "#fff" if alpha > 0.6 else "#000"
        style = (
            f"background-color: rgba({RGB[0]}, {RGB[1]}, {RGB[2]}, {alpha:.3f}); color: {colour}; "
            "padding: 0.1em 0.25em; border-radius: 3px;"
        )
        spans.append(f'<span style="{style}" title="{weight:.4f}">{html.escape(token)}</span>')
    return " ".join(spans)


def render_png(explanation: Explanation, path: str | Path, dpi: int = 110) -> Path:
    """The paper's heatmap (tokens on x, one row per hop) above the highlighted tweet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    e = explanation
    matrix = np.asarray(e.hops, dtype=float)  # (r, n)
    hops, n = matrix.shape
    width = min(max(6.0, 0.5 * n + 2.5), 22.0)
    lines = _estimated_lines(e.tokens, width)
    heights = [max(1.6, 0.28 * hops + 1.4), 0.38 * lines + 0.2]
    fig, (heat, strip) = plt.subplots(
        2, 1, figsize=(width, sum(heights) + 0.5), height_ratios=heights, layout="constrained"
    )
    image = heat.imshow(matrix, aspect="auto", cmap="Reds", vmin=0.0, vmax=matrix.max() or 1.0)
    heat.set_xticks(range(n), e.tokens, rotation=60, ha="right", fontsize=9)
    step = 1 if hops <= 10 else 5
    heat.set_yticks(range(0, hops, step), [str(k + 1) for k in range(0, hops, step)], fontsize=8)
    heat.set_ylabel("hop")
    fig.colorbar(image, ax=heat, label="attention", pad=0.01)
    prob = e.probs.get(e.label, 0.0)
    heat.set_title(f"{_short(e.text)}  ->  {e.label} ({prob:.2f})", fontsize=10)
    _draw_highlighted(fig, strip, e.tokens, e.weights, plt.get_cmap("Reds"))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return path


def _draw_highlighted(fig, ax, tokens: list[str], weights: list[float], cmap) -> None:
    """Tokens left to right, wrapped at the axes' width, each on a box shaded by its weight."""
    ax.set_axis_off()
    ax.set_title("mean over hops", fontsize=9, loc="left", color="#555")
    fig.canvas.draw()  # lay out first, so that text extents are known
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    top = max(weights, default=0.0) or 1.0
    x, y, line_height = 0.0, 0.85, None
    for token, weight in zip(tokens, weights, strict=True):
        shade = weight / top
        text = ax.text(
            x, y, token, transform=ax.transAxes, fontsize=11, va="top",
            color="white" if shade > 0.6 else "black",
            bbox={"facecolor": cmap(0.05 + 0.95 * shade), "edgecolor": "none", "pad": 2.0},
        )  # fmt: skip
        extent = text.get_window_extent(renderer)
        line_height = line_height or 1.5 * extent.height / box.height
        if x > 0 and x + extent.width / box.width > 1.0:  # wrap onto the next line
            x, y = 0.0, y - line_height
            text.set_position((x, y))
        x += (extent.width + 8) / box.width


def _estimated_lines(tokens: list[str], width_inches: float) -> int:
    chars_per_line = max(20, int(width_inches * 9))  # about 9 characters per inch at 11 pt
    return 1 + sum(len(t) + 2 for t in tokens) // chars_per_line


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
