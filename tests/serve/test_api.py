"""The REST API through a real `tweetsent serve` process: every endpoint, every bad input,
and 64 concurrent requests that get exactly the answers they get alone."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tweetsent.runs.predict import Predictor

LABELS = ["negative", "neutral", "positive"]
MARKER = "zq-marker-7781"  # must never come back in an error


def test_health_and_readiness(server):
    assert server.call("GET", "/healthz").json() == {"status": "ok"}
    assert server.call("HEAD", "/healthz").status == 200
    ready = server.call("GET", "/readyz")
    assert (ready.status, ready.json()) == (200, {"status": "ready"})


def test_predict_returns_one_prediction_per_text_in_order(server, bilstm_run):
    texts = ["I love this, best day :)", "worst day ever, I hate it :(", "bus schedule update", ""]
    reply = server.predict(texts)
    assert reply.status == 200
    body = reply.json()
    assert body["labels"] == LABELS and body["attention_available"] is False
    preds = body["predictions"]
    assert len(preds) == len(texts)
    assert [p["label"] for p in preds[:3]] == ["positive", "negative", "neutral"]
    assert [p["empty"] for p in preds] == [False, False, False, True]
    local = Predictor.from_run(bilstm_run).predict(texts)  # the CLI's predictor, float32
    for pred, ref in zip(preds, local, strict=True):
        assert set(pred["probs"]) == set(LABELS)
        assert sum(pred["probs"].values()) == pytest.approx(1.0, abs=1e-5)
        assert pred["label"] == ref.label
        assert pred["probs"] == pytest.approx(ref.probs, abs=1e-5)
        assert "attention" not in pred


def test_attention_request_on_a_model_without_attention(server):
    body = server.predict(["so happy today"], attention=True).json()
    assert body["attention_available"] is False
    assert "attention" not in body["predictions"][0]


def test_model_card(server, bilstm_run):
    reply = server.call("GET", "/v1/model")
    assert reply.status == 200
    card = reply.json()
    assert card["labels"] == LABELS
    assert card["settings"]["model"]["cell"] == "lstm"
    assert card["data"]["train_files"] == ["train.tsv"]
    assert card["scores"]["split"] == "validation" and 0 <= card["scores"]["accuracy"] <= 1
    limits = {"max_texts": 8, "max_chars": 300, "max_body_bytes": 8192}
    assert {k: card["limits"][k] for k in limits} == limits
    assert card["limits"]["request_timeout_s"] == 10.0
    assert str(bilstm_run.parent) not in reply.body.decode()  # no server paths


def test_openapi_docs(server):
    schema = server.call("GET", "/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/healthz", "/readyz"} <= set(schema["paths"])
    docs = server.call("GET", "/docs")
    assert docs.status == 200 and b"swagger" in docs.body.lower()


@pytest.mark.parametrize(("page", "assets"), [("/docs", 3), ("/redoc", 2)])
def test_the_api_docs_work_offline(server, page, assets):
    """/docs (Swagger UI) and /redoc name no other host: their scripts, styles and icon come
    from this server (before issue 26 /docs loaded Swagger UI from a CDN), a policy lets the
    browser load nothing from elsewhere, and the online validator badge is off."""
    import re

    reply = server.call("GET", page)
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    html = reply.body.decode()
    assert not re.search(r"https?:|['\"(]//", html), "a URL to another host"
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) == assets and all(url.startswith("/docs/assets/") for url in urls)
    for url in urls:
        reply = server.call("GET", url)
        assert reply.status == 200 and len(reply.body) > 1000, url
    if page == "/docs":
        assert '"validatorUrl": null' in html
        assert "SwaggerUIBundle" in server.call("GET", urls[-1]).body.decode()


def test_page_and_assets_come_from_the_server(server):
    page = server.call("GET", "/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        reply = server.call("GET", asset)
        assert reply.status == 200
        assert b"http://" not in reply.body and b"https://" not in reply.body
    assert b"http://" not in page.body and b"https://" not in page.body


BAD_REQUESTS = [
    # (name, body, headers, status, error code)
    ("malformed json", '{"texts": ["a", ', None, 422, "malformed_json"),
    ("invalid utf-8", b'{"texts": ["\xff\xfe"]}', None, 422, "malformed_json"),
    ("nesting too deep", "[" * 3000 + "]" * 3000, None, 422, "malformed_json"),
    ("texts not a list", {"texts": MARKER}, None, 422, "invalid_request"),
    ("a number as text", {"texts": [123], "attention": False}, None, 422, "invalid_request"),
    ("null as text", {"texts": [None]}, None, 422, "invalid_request"),
    ("nan as text", '{"texts": [NaN]}', None, 422, "invalid_request"),
    ("attention not a bool", {"texts": ["a"], "attention": "yes"}, None, 422, "invalid_request"),
    ("texts missing", {"attention": True}, None, 422, "invalid_request"),
    ("no texts", {"texts": []}, None, 422, "invalid_request"),
    ("unknown field", {"texts": ["a"], "secret": MARKER}, None, 422, "invalid_request"),
    ("array body", [MARKER], None, 422, "invalid_request"),
    ("not json", MARKER, {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    (
        "json as text/plain",
        '{"texts": ["a"]}',
        {"Content-Type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
    ("json without type", b'{"texts": ["a"]}', {"X-None": "1"}, 415, "unsupported_media_type"),
    ("too many texts", {"texts": [MARKER] * 9}, None, 413, "too_many_texts"),
    ("text too long", {"texts": ["ok", MARKER + "x" * 300]}, None, 413, "text_too_long"),
    ("body too large", {"texts": [MARKER * 600]}, None, 413, "body_too_large"),
]


def _check_error(reply, status: int, code: str) -> dict:
    assert reply.status == status, reply.body[:300]
    assert reply.headers["content-type"] == "application/json"
    error = reply.json()["error"]
    assert error["code"] == code and error["message"]
    text = reply.body.decode()
    for leak in (MARKER, "Traceback", "site-packages", 'File "', "/tweetsent/"):
        assert leak not in text
    return error


@pytest.mark.parametrize(
    "name,body,headers,status,code", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS]
)
def test_bad_requests_get_clear_json_errors(server, name, body, headers, status, code):
    if isinstance(body, str | bytes) and not headers:
        headers = {"Content-Type": "application/json"}
    _check_error(server.call("POST", "/v1/predict", body, headers), status, code)


def test_error_messages_say_what_is_wrong(server):
    error = server.predict([1]).json()["error"]
    assert error["message"].startswith("texts.0:")
    error = server.predict(["a"] * 9).json()["error"]
    assert "9 texts" in error["message"] and "8" in error["message"]
    error = server.predict(["ok", "x" * 301]).json()["error"]
    assert error["message"].startswith("texts.1: 301 characters")


def test_body_over_the_limit_without_content_length(server):
    body = json.dumps({"texts": [MARKER * 600]})
    reply = server.call(
        "POST", "/v1/predict", body, {"Content-Type": "application/json"}, chunked=True
    )
    _check_error(reply, 413, "body_too_large")


def test_wrong_method_and_path_are_json_errors(server):
    _check_error(server.call("GET", "/v1/predict"), 405, "method_not_allowed")
    _check_error(server.call("GET", "/v2/nothing"), 404, "not_found")


def test_odd_but_valid_texts_are_answered(server):
    texts = ["\ud800 lone surrogate", "\x00\x01", "😀" * 100, "   ", "#" * 300, "<script>"]
    reply = server.call(
        "POST", "/v1/predict", json.dumps({"texts": texts}), {"Content-Type": "application/json"}
    )
    assert reply.status == 200
    assert len(reply.json()["predictions"]) == len(texts)


def test_64_concurrent_requests_match_single_requests_exactly(server):
    pool = [text for _, text in _tweets(40)]
    alone = {}
    for text in pool:
        reply = server.predict([text])
        assert reply.status == 200
        alone[text] = reply.json()["predictions"][0]
    rng = random.Random(3)
    requests = [rng.sample(pool, rng.randint(1, 3)) for _ in range(64)]
    start = threading.Barrier(64)

    def send(texts):
        start.wait()
        return texts, server.predict(texts)

    for _ in range(2):
        with ThreadPoolExecutor(max_workers=64) as executor:
            results = list(executor.map(send, requests))
        for texts, reply in results:
            assert reply.status == 200
            got = reply.json()["predictions"]
            assert got == [alone[text] for text in texts]


def test_no_server_error_was_logged(server):
    server.call("GET", "/healthz")
    log = server.log_path.read_text()
    assert "Traceback" not in log and "unhandled error" not in log


def _tweets(n: int) -> list[tuple[str, str]]:
    words = ["love", "hate", "bus", "great", "awful", "meeting", "today", "phone", ":)", ":("]
    rng = random.Random(11)
    return [("", " ".join(rng.choices(words, k=rng.randint(1, 12)))) for _ in range(n)]


def test_attention_model_returns_token_weight_pairs(attention_server, attention_run):
    texts = ["I love this phone, best day ever :)", "", "@friend worst bus ever :("]
    body = attention_server.predict(texts, attention=True).json()
    assert body["attention_available"] is True
    predictor = Predictor.from_run(attention_run)
    for text, pred in zip(texts, body["predictions"], strict=True):
        pairs = pred["attention"]
        assert [p["token"] for p in pairs] == (predictor.normalizer.tokenize(text) or [""])
        assert all(p["weight"] >= 0 for p in pairs)
        assert sum(p["weight"] for p in pairs) == pytest.approx(1.0, abs=1e-4)
    plain = attention_server.predict(texts).json()["predictions"]
    assert all("attention" not in pred for pred in plain)
    assert [p["probs"] for p in plain] == [p["probs"] for p in body["predictions"]]


def test_attention_weights_do_not_depend_on_the_batch(attention_server):
    pool = [text for _, text in _tweets(24)]
    alone = {text: attention_server.predict([text], True).json()["predictions"][0] for text in pool}
    rng = random.Random(5)
    requests = [(rng.sample(pool, rng.randint(1, 3)), i % 2 == 0) for i in range(48)]
    start = threading.Barrier(len(requests))

    def send(request):
        start.wait()
        return request, attention_server.predict(*request)

    with ThreadPoolExecutor(max_workers=len(requests)) as executor:
        for (texts, attention), reply in executor.map(send, requests):
            expected = [dict(alone[text]) for text in texts]
            if not attention:
                expected = [{k: v for k, v in e.items() if k != "attention"} for e in expected]
            assert reply.json()["predictions"] == expected
