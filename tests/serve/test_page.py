"""The web page and the API docs (/docs, /redoc) in a real browser: Debian's headless Chromium
driven by Playwright.

Skips when /usr/bin/chromium is absent (`.ci/setup-browser.sh` installs it); never downloads a
browser (`playwright install` is not used). With TWEETSENT_SCREENSHOT=path the attention page
(or, before self-attention exists, the plain page) is also saved there for the docs.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from tweetsent.config import ModelConfig
from tweetsent.errors import ConfigError
from tweetsent.runs.predict import Predictor

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TWEET = "I love this phone, best day ever :)"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (run .ci/setup-browser.sh to install Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _submit(browser, url: str, text: str):
    page = browser.new_page(viewport={"width": 900, "height": 760})
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
    page.goto(url + "/")
    page.wait_for_selector("#model[data-ready='true']", timeout=20_000)
    page.fill("#text", text)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=20_000)
    assert outside in ([], ["data:,"]), f"the page fetched from elsewhere: {outside}"
    return page


def _attention_exists() -> bool:
    try:
        ModelConfig(pooling="attention")
    except ConfigError:
        return False
    return True


def _screenshot(page, tmp_path: Path) -> None:
    shot = tmp_path / "serve-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    if target := os.environ.get("TWEETSENT_SCREENSHOT"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def test_page_shows_label_and_probabilities(browser, server, tmp_path):
    expected = server.predict([TWEET]).json()["predictions"][0]
    page = _submit(browser, server.url, TWEET)
    assert page.text_content("#label") == expected["label"]
    bars = page.locator("#probs .bar")
    assert bars.count() == len(expected["probs"])
    for i in range(bars.count()):
        name = bars.nth(i).get_attribute("data-label")
        width = float(bars.nth(i).evaluate("el => parseFloat(el.style.width)"))
        assert width == pytest.approx(100 * expected["probs"][name], abs=0.05)
    # No self-attention in this model: no highlighting, and the page says why.
    assert page.locator("#tokens .tok").count() == 0
    assert "no self-attention" in page.text_content("#tokens-note")
    if not _attention_exists():  # else the attention page is the one for the docs
        _screenshot(page, tmp_path)
    page.close()


def test_page_shows_an_error_for_a_text_over_the_limit(browser, server):
    page = browser.new_page()
    page.goto(server.url + "/")
    page.wait_for_selector("#model[data-ready='true']", timeout=20_000)
    page.evaluate("document.getElementById('text').removeAttribute('maxlength')")
    page.fill("#text", "x" * 400)
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])", timeout=20_000)
    assert "at most 300" in page.text_content("#error")
    page.close()


def test_page_highlights_tokens_by_attention(browser, attention_server, tmp_path):
    expected = attention_server.predict([TWEET], attention=True).json()["predictions"][0]
    page = _submit(browser, attention_server.url, TWEET)
    assert page.text_content("#label") == expected["label"]
    tokens = page.locator("#tokens .tok")
    assert tokens.count() == len(expected["attention"])
    weights = [float(tokens.nth(i).get_attribute("data-weight")) for i in range(tokens.count())]
    assert weights == pytest.approx([pair["weight"] for pair in expected["attention"]])
    strongest = max(range(len(weights)), key=weights.__getitem__)
    shade = tokens.nth(strongest).evaluate("el => getComputedStyle(el).backgroundColor")
    assert shade.startswith("rgba(245, 158, 11") and not shade.endswith(", 0)")
    _screenshot(page, tmp_path)
    page.close()


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "h2")])
def test_api_docs_render_with_the_network_off(browser, server, path, ready):
    """Swagger UI (/docs) and ReDoc (/redoc) render the API with every request to another host
    refused: their scripts and styles come from this server (before issue 26, from a CDN)."""
    page = browser.new_page()
    outside: list[str] = []

    def local_only(route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto(server.url + path)
    page.wait_for_selector(ready, timeout=30_000)
    assert "/v1/predict" in page.text_content("body")
    assert outside == [], f"the docs fetched from elsewhere: {outside}"
    page.close()


class StubAttention(Predictor):
    """A real model with made-up attention (weight grows with token length): tests the page's
    highlighting whether or not self-attention pooling exists yet."""

    @property
    def has_attention(self) -> bool:
        return True

    def predict(self, texts, attention=False):
        preds = super().predict(texts)
        if attention:
            for pred in preds:
                pred.tokens = self.normalizer.tokenize(pred.text) or [""]
                sizes = [len(token) + 1 for token in pred.tokens]
                pred.attention = [size / sum(sizes) for size in sizes]
        return preds


@pytest.fixture
def stub_server(bilstm_run):
    import uvicorn

    from tweetsent.serve import ServeSettings, create_app

    port = _free_port()
    app = create_app(bilstm_run, ServeSettings(port=port), StubAttention.from_run(bilstm_run))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_page_highlights_tokens_by_weight(browser, stub_server):
    page = _submit(browser, stub_server, "I love this phone")
    tokens = page.locator("#tokens .tok")
    assert [tokens.nth(i).text_content() for i in range(tokens.count())] == [
        "i",
        "love",
        "this",
        "phone",
    ]
    weights = [float(tokens.nth(i).get_attribute("data-weight")) for i in range(4)]
    assert weights == pytest.approx([2 / 18, 5 / 18, 5 / 18, 6 / 18], abs=1e-6)
    alphas = [
        float(
            tokens.nth(i)
            .evaluate("el => getComputedStyle(el).backgroundColor")
            .rstrip(")")
            .split(",")[-1]
        )
        for i in range(4)
    ]
    assert alphas[3] == max(alphas) and alphas[0] == min(alphas) > 0
    assert "self-attention weight" in page.text_content("#tokens-note")
    page.close()


def test_model_card_shows_no_server_paths_for_elmo_runs(elmo_run):
    """embed.elmo_options / elmo_weights / elmo_cache_dir and what meta.json records of the
    biLM files are cut to file names (GET /v1/model)."""
    import json

    from tweetsent.runs.rundir import load_run
    from tweetsent.serve.card import model_card
    from tweetsent.serve.settings import ServeSettings

    run = load_run(elmo_run)
    card = model_card(run, ServeSettings(), attention=False)
    text = json.dumps(card)
    assert str(elmo_run.parent) not in text and "/tmp" not in text
    assert card["settings"]["embed"]["elmo_options"] == "options.json"
    assert card["settings"]["embed"]["elmo_weights"] == "weights.hdf5"
