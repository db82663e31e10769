"""Table-driven tests of the tweet normalizer: (input, expected tokens) per rule."""

from __future__ import annotations

import dataclasses
import random

import pytest

from tweetsent.config import TextConfig
from tweetsent.text import PLACEHOLDERS, Normalizer, tokenize
from tweetsent.text.patterns import ELONGATION_RE

# England's flag: black flag + tag characters "gbeng" + cancel tag.
ENGLAND = "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"

# (input, expected tokens) under the default TextConfig.
DEFAULT_ROWS = [
    # empty input, whitespace, line endings
    ("", []),
    ("   \t ", []),
    ("\r\n", []),
    ("hello\r\nworld", ["hello", "world"]),
    ("tab\tseparated\u00a0nbsp", ["tab", "separated", "nbsp"]),
    ("zero\u200bwidth ok\u200d", ["zero", "width", "ok"]),
    ("a\x00b\x7f", ["a", "b"]),
    ("\ud800 lone surrogate", ["lone", "surrogate"]),
    # URLs
    ("http://t.co/abc", ["<url>"]),
    ("see https://example.com/a?b=c now", ["see", "<url>", "now"]),
    ("(http://x.co/a)", ["(", "<url>", ")"]),
    ("www.example.com/page.", ["<url>", "."]),
    ("read t.co/xyz123 and bit.ly/q", ["read", "<url>", "and", "<url>"]),
    ("http://en.wikipedia.org/wiki/Foo_(bar) ok", ["<url>", "ok"]),
    ("HTTPS://X.CO/A, ttp://t.co/2LU", ["<url>", ",", "<url>"]),
    ("more... http://t.co/46pjzzl6…", ["more", "...", "<url>", "..."]),
    # mentions
    ("@user hi", ["<user>", "hi"]),
    (".@user_1 said", [".", "<user>", "said"]),
    ("@user!!!", ["<user>", "!", "<repeat>"]),
    ("@user's car", ["<user>", "'s", "car"]),
    ("RT @user: check", ["rt", "<user>", ":", "check"]),
    ("mail me@example.com", ["mail", "me", "@", "example", ".", "com"]),
    ("@ home", ["@", "home"]),
    # hashtags
    ("#happy", ["<hashtag>", "happy"]),
    ("#Happy #1 fan", ["<hashtag>", "happy", "#", "<number>", "fan"]),
    ("#tbt's", ["<hashtag>", "tbt", "'s"]),
    ("#soooohappy", ["<hashtag>", "soohappy", "<elong>"]),
    # HTML entities (Sentiment140 style)
    ("I &lt;3 it &amp; you", ["i", "<3", "it", "&", "you"]),
    ("&quot;quoted&quot;", ['"', "quoted", '"']),
    ("&amp;lt;3", ["<3"]),
    ("it&#39;s &#x1F602;", ["it", "'s", "😂"]),
    ("R&D &not here &foo;", ["r", "&", "d", "&", "not", "here", "&foo;"]),
    # emoticons, also after case folding
    (":) :-( :D ;p :'(", [":)", ":-(", ":D", ";P", ":'("]),
    ("XD xD xd :P :p", ["XD", "XD", "XD", ":P", ":P"]),
    ("=) =D >:(", ["=)", "=D", ">:("]),
    ("^_^ -_- o_O T_T", ["^_^", "-_-", "O_O", "T_T"]),
    ("good:) day", ["good", ":)", "day"]),
    (":pizza", [":", "pizza"]),
    ("(: ok", ["(:", "ok"]),
    ("happy :)))", ["happy", ":)", "<repeat>"]),
    ("<3 </3 <333", ["<3", "</3", "<3", "<repeat>"]),
    # emoji: ZWJ sequences, skin tones, flags, variation selectors, keycaps
    ("😂", ["😂"]),
    ("😂😂😂", ["😂", "<repeat>"]),
    ("👍🏽 ok", ["👍🏽", "ok"]),
    ("👨\u200d👩\u200d👧\u200d👦", ["👨\u200d👩\u200d👧\u200d👦"]),
    ("👩🏽\u200d⚕️", ["👩🏽\u200d⚕️"]),
    ("🇺🇸🇬🇧", ["🇺🇸", "🇬🇧"]),
    ("❤️ ❤", ["❤️", "❤"]),
    ("1️⃣", ["1️⃣"]),
    (ENGLAND, [ENGLAND]),  # tag sequence
    ("love😍you", ["love", "😍", "you"]),
    # elongations and repeats
    ("sooooo good", ["soo", "<elong>", "good"]),
    ("hmmmm", ["hmm", "<elong>"]),
    ("soooo:)", ["soo", "<elong>", ":)"]),
    ("wow!!!!", ["wow", "!", "<repeat>"]),
    ("what?!?!", ["what", "?", "!", "?", "!"]),
    ("wait.... ok…", ["wait", "...", "ok", "..."]),
    # numbers
    (
        "I paid $3.39 for 1,000 at 7:10",
        ["i", "paid", "$", "<number>", "for", "<number>", "at", "<number>"],
    ),
    ("2nd b4 1000 100%", ["2nd", "b4", "<number>", "<number>", "%"]),
    # contractions (Penn-Treebank split) and other words
    ("don't", ["do", "n't"]),
    ("DON'T stop", ["do", "n't", "stop"]),
    ("can't won't ain't", ["ca", "n't", "wo", "n't", "ai", "n't"]),
    ("I’m here", ["i", "'m", "here"]),
    ("they're we've she'll i'd", ["they", "'re", "we", "'ve", "she", "'ll", "i", "'d"]),
    ("it's rock'n'roll y'all o'clock", ["it", "'s", "rock'n'roll", "y'all", "o'clock"]),
    ("'quoted'", ["'", "quoted", "'"]),
    ("a well-known fact", ["a", "well-known", "fact"]),
    ("U.S. p.m. i.e.", ["u.s.", "p.m.", "i.e."]),
    # unicode
    ("Café naïve", ["café", "naïve"]),
    ("Cafe\u0301", ["caf\u00e9"]),  # NFC: e + combining acute -> é
    ("東京に行く", ["東京に行く"]),
    ("“smart quotes”", ['"', "smart", "quotes", '"']),
]


@pytest.mark.parametrize(("text", "expected"), DEFAULT_ROWS)
def test_default_rules(text: str, expected: list[str]) -> None:
    assert Normalizer().tokenize(text) == expected


# (TextConfig overrides, input, expected tokens): each rule switched off keeps the raw token.
CONFIG_ROWS = [
    ({"lowercase": False}, "Hello XD :d", ["Hello", "XD", ":d"]),
    ({"urls": False}, "see http://t.co/x.", ["see", "http://t.co/x", "."]),
    ({"users": False}, "@User hi", ["@user", "hi"]),
    ({"hashtags": False}, "#Happy day", ["#happy", "day"]),
    ({"elongations": False}, "soooo!!!! 😂😂 :)))", ["soooo", "!!!!", "😂", "😂", ":)))"]),
    ({"numbers": False}, "42 3.5", ["42", "3.5"]),
    ({"html_entities": False}, "&amp; &lt;3", ["&amp;", "&lt;", "<number>"]),
    ({"max_tokens": 3}, "a b c d e", ["a", "b", "c"]),
    ({"max_tokens": 2}, "soooo good", ["soo", "<elong>"]),
    ({"stopwords": "study"}, "I do not like this movie", ["not", "like", "movie"]),
    ({"stopwords": "study"}, "I don't think it isn't good", ["n't", "think", "n't", "good"]),
    ({"stopwords": "study"}, "no nor never cannot", ["no", "nor", "never", "cannot"]),
    ({"stopwords": "study"}, "dont cant wont", ["dont", "cant", "wont"]),
    (
        {"stopwords": "study"},
        "@a the http://t.co/x #the 42 soooo",
        ["<user>", "<url>", "<hashtag>", "<number>", "soo", "<elong>"],
    ),
    ({"stopwords": "study-strict"}, "I do not like this movie", ["like", "movie"]),
    ({"stopwords": "study-strict"}, "I don't think it isn't good", ["think", "good"]),
    ({"stopwords": "study-strict"}, "@a the #the :)", ["<user>", "<hashtag>", ":)"]),
    ({"stopwords": "study", "max_tokens": 2}, "the a an x w z", ["x", "w"]),
]


@pytest.mark.parametrize(("overrides", "text", "expected"), CONFIG_ROWS)
def test_config_switches(overrides: dict, text: str, expected: list[str]) -> None:
    config = TextConfig(**overrides)
    assert Normalizer(config).tokenize(text) == expected
    assert tokenize(text, config) == expected


def test_max_tokens_zero_keeps_everything() -> None:
    text = " ".join(f"w{i}" for i in range(300))
    assert len(Normalizer(TextConfig(max_tokens=0)).tokenize(text)) == 300
    assert len(Normalizer(TextConfig()).tokenize(text)) == TextConfig().max_tokens


TRICKY = [row[0] for row in DEFAULT_ROWS] + [
    "😂 😂 😂😂",
    "x" * 5000,
    "!" * 300,
    "@" * 50,
    "#" * 20,
    ":" * 40,
    "&" * 10,
    "\U000e0041",
    "a\u0300\u0301\u0302",
    "ｆｕｌｌｗｉｄｔｈ",
    ENGLAND,
]


@pytest.mark.parametrize(
    "config",
    [TextConfig(), TextConfig(lowercase=False, stopwords="study", elongations=False, max_tokens=0)],
)
def test_memo_is_invisible_and_tokens_are_clean(config: TextConfig) -> None:
    memo, no_memo = Normalizer(config), Normalizer(config, memo_size=0)
    first = [memo.tokenize(t) for t in TRICKY]
    assert [memo.tokenize(t) for t in TRICKY] == first  # second pass: from the memo
    assert [no_memo.tokenize(t) for t in TRICKY] == first
    for tokens in first:
        for token in tokens:
            assert token and token == "".join(token.split()), repr(token)


@pytest.mark.parametrize(
    "config", [TextConfig(max_tokens=5), TextConfig(lowercase=False, stopwords="study")]
)
def test_map_chunks_is_tokenize_over_many_texts(config: TextConfig) -> None:
    normalizer = Normalizer(config)
    texts = [*TRICKY, "a b c d e f g h", "", *TRICKY]  # a text over the cap; repeats
    expected = [Normalizer(config, memo_size=0).tokenize(t) for t in texts]
    for memo_size in (0, 3, 1000):  # none, cleared every few chunks, all kept
        out: list[str] = []
        lengths = normalizer.map_chunks(texts, normalizer.chunk_tokens, {}, memo_size, out)
        assert lengths == [len(tokens) for tokens in expected]
        assert out == [token for tokens in expected for token in tokens]
    sizes: list[int] = []  # any per-chunk function with one item per token, capped alike
    normalizer.map_chunks(
        texts, lambda chunk: tuple(map(len, normalizer.chunk_tokens(chunk))), {}, 10, sizes
    )
    assert sizes == [len(token) for tokens in expected for token in tokens]


def test_placeholders_are_single_tokens() -> None:
    tokens = Normalizer().tokenize("@u #t http://t.co/x 42 sooo !!")
    assert set(PLACEHOLDERS) <= set(tokens)


def test_normalizer_config_cannot_change_under_it() -> None:
    config = TextConfig()
    normalizer = Normalizer(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lowercase = False  # type: ignore[misc]
    assert normalizer.tokenize("Hello") == ["hello"]
    assert dataclasses.asdict(normalizer.config) == dataclasses.asdict(TextConfig())


def test_module_tokenize_uses_the_default_config() -> None:
    assert tokenize("Hello @x :D") == Normalizer(TextConfig()).tokenize("Hello @x :D")


@pytest.mark.shared_data
def test_real_tweets_tokenize_cleanly(shared_data) -> None:
    normalizer = Normalizer(TextConfig(max_tokens=0))
    path = sorted(shared_data.glob("*.tsv"))[0]
    lines = path.read_text(encoding="utf-8").splitlines()[:2000]
    for line in lines:
        text = line.split("\t")[2]
        tokens = normalizer.tokenize(text)
        assert tokens, text
        assert all(t and t == "".join(t.split()) for t in tokens), text


# Chunks of the shapes `chunk_tokens` reads without the regex scan, and near misses of them.
FAST_CHUNKS = [
    *["hello", "www", "xd", "dd", "ooo", "tt", "sooooo", "123", "007"],
    # mentions, hashtags, URLs
    *["@user", "@user_1", "@élodie", "@user!", "@user's", "@", "@@user", "@u.s"],
    *["#happy", "#soooohappy", "#1", "#1st", "#_", "#tbt's", "#happy!", "#日本"],
    *["http://t.co/abc", "https://x.co/a?b=c", "http://x.co/a,", "http://x.co/a).", "http://"],
    *["HTTPS://X.CO/A", "http://en.wikipedia.org/wiki/Foo_(bar)", "https://x.co/(a", "hi/there"],
    # a word and a run of , ! ? .
    *["day,", "good!", "good!!!", "why???", "end.", "end..", "wait....", "soooo!!", "don't,"],
    *["well-known.", "rock'n'roll!", "u.s.", "www.", "www..", "xd!", "xdd,", "boxd!", "o.", "d:"],
    *["do:", "a.", "it's...", "dogs'", "well-", "Good!", "GOOD...", "n't!", "can't?"],
]
FAST_CONFIGS = [
    TextConfig(),
    TextConfig(lowercase=False),
    TextConfig(users=False, urls=False, hashtags=False),
    TextConfig(elongations=False),
]


@pytest.mark.parametrize("config", FAST_CONFIGS, ids=["default", "cased", "kept", "no-elong"])
@pytest.mark.parametrize("chunk", FAST_CHUNKS)
def test_fast_path_agrees_with_the_regex(chunk: str, config: TextConfig) -> None:
    normalizer = Normalizer(config)
    scanned: list[str] = []
    elong = config.elongations and ELONGATION_RE.search(chunk) is not None
    normalizer._scan(chunk, scanned, elong=elong)
    assert list(normalizer.chunk_tokens(chunk)) == scanned


def test_fast_paths_agree_with_the_regex_on_random_chunks() -> None:
    """Chunks built around the fast shapes (a sign or scheme, a word, a tail) from characters
    that steer the regex (eyes, noses, x/d/o, dots, slashes, digits, non-ASCII letters)."""
    rng = random.Random(24)
    heads = ["", "", "@", "#", "http://", "https://", "www.", "x", "d", "o"]
    letters = "abdehostuxDXO'-_3é"
    tails = ["", ",", "!!", "?", ".", "..", "...", ":", ";", "=", ")", ":)", "/", "1", "😂"]
    for config in FAST_CONFIGS:
        normalizer = Normalizer(config)
        for _ in range(3000):
            word = "".join(rng.choice(letters) for _ in range(rng.randint(0, 6)))
            chunk = rng.choice(heads) + word + rng.choice(tails) + rng.choice(["", *tails])
            if not chunk:
                continue
            scanned: list[str] = []
            elong = config.elongations and ELONGATION_RE.search(chunk) is not None
            normalizer._scan(chunk, scanned, elong=elong)
            assert list(normalizer.chunk_tokens(chunk)) == scanned, (chunk, config)
