"""Tweet-level lexicon features as NRC-Canada computed them, on tweetsent's tokens.

    lexicons = load_lexicons(["vader", "lexicons/BingLiu.csv.gz"])
    tokens = Normalizer().tokenize("i don't like it... but #happy")
    # ['i', 'do', "n't", 'like', 'it', '...', 'but', '<hashtag>', 'happy']
    x = tweet_features(tokens, lexicons)        # (16 * len(lexicons),) float32
    names = feature_names(lexicons)             # 'BingLiu:negated:pos_count', ...

Mohammad, Kiritchenko and Zhu 2013, "NRC-Canada: Building the State-of-the-Art in Sentiment
Analysis of Tweets", section 3: a *negated context* starts after a negation word and ends at
a clause-ending punctuation mark; lexicon features are computed separately for the words in
affirmative and in negated contexts. For one lexicon with scores s(w) in [-1, 1] and the set W
of tokens of a context that are in the lexicon (entries scored 0, e.g. MPQA's neutral words,
are in it), the eight features are

    pos_count = |{w in W : s(w) > 0}|        neg_count = |{w in W : s(w) < 0}|
    pos_sum   = sum of s(w) > 0 over W       neg_sum   = sum of s(w) < 0 over W
    max       = max over W of s(w)           min       = min over W of s(w)
    last      = s(last token of W)           total     = sum over W of s(w)

(all 0 when W is empty), affirmative first, then negated: 16 numbers per lexicon.

Tokens are those of `tweetsent.text.Normalizer`: lower-cased, `#happy` -> `<hashtag> happy`,
`don't` -> `do n't`. The word after `<hashtag>` is looked up as `#happy` first (the PMI
lexicons score hashtags apart from words), then as `happy`. A token is negated when a
negator (`NEGATORS`) precedes it with no clause end (`CLAUSE_END`) in between; negators and
clause ends are never negated themselves.

Models look the lexicons up once per vocabulary entry (`vocab_arrays`) and compute the same
features from token ids (`tweet_features_from_ids`, equal to `tweet_features` on in-vocabulary
tokens). There the negation scope has a closed form that runs on tensors (cummax):

    negated[t] = not negator[t] and  max{s < t : negator[s]} > max{s <= t : clause_end[s]}

(max of an empty set = -1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tweetsent.lexicons.formats import Lexicon
from tweetsent.text import ELLIPSIS_TOKEN, HASHTAG_TOKEN, URL_TOKEN


def _words(text: str) -> list[str]:
    return text.split()


# Christopher Potts' negation list, as NRC-Canada used it, plus the forms tweets and our
# tokenizer give them: `n't` split off (`do n't`, `ca n't`) and apostrophes dropped (`dont`).
_CONTRACTED = _words(
    "ain aren can couldn didn doesn don hadn hasn haven isn mightn mustn needn shan shouldn "
    "wasn weren won wouldn"
)
NEGATORS: frozenset[str] = frozenset(
    _words("not no never n't cannot nothing nobody none noone nowhere neither nor without")
    + _words("hardly barely")
    + [f"{stem}t" for stem in _CONTRACTED]  # dont, isnt, cant, wont, aint, ...
    + [f"{stem}'t" for stem in _CONTRACTED]  # don't, isn't, can't, won't, ain't, ...
)
CLAUSE_END: frozenset[str] = frozenset([".", ",", ":", ";", "!", "?", ELLIPSIS_TOKEN, URL_TOKEN])

CONTEXTS = ("affirmative", "negated")
STATS = ("pos_count", "neg_count", "pos_sum", "neg_sum", "max", "min", "last", "total")
FEATURES_PER_LEXICON = len(CONTEXTS) * len(STATS)  # 16


def negation_scope(tokens: Sequence[str]) -> list[bool]:
    """Per token: is it in a negated context (after a negator, before any clause end)?"""
    negated: list[bool] = []
    inside = False
    for token in tokens:
        if token in CLAUSE_END:
            inside = False
            negated.append(False)
        elif token in NEGATORS:
            negated.append(False)
            inside = True
        else:
            negated.append(inside)
    return negated


def _getter(lexicon: Lexicon):
    """term -> score or None: the term as written, else lower-cased (`text.lowercase = false`
    keeps `Good`; the lexicon files are lower-cased)."""
    scores = lexicon.scores

    def get(term: str) -> float | None:
        score = scores.get(term)
        return scores.get(term.lower()) if score is None else score

    return get


def lexicon_lookup(tokens: Sequence[str], lexicon: Lexicon) -> list[float | None]:
    """Per token its lexicon score, or None; after `<hashtag>`, `#word` first, then `word`
    (each as written, then lower-cased)."""
    get = _getter(lexicon)
    scores: list[float | None] = []
    previous = None
    for token in tokens:
        score = get("#" + token) if previous == HASHTAG_TOKEN else None
        if score is None:
            score = get(token)
        scores.append(score)
        previous = token
    return scores


def feature_names(lexicons: Sequence[Lexicon]) -> list[str]:
    """`name:context:stat` for each of `tweet_features`' columns, in order."""
    return [f"{lex.name}:{ctx}:{stat}" for lex in lexicons for ctx in CONTEXTS for stat in STATS]


def tweet_features(tokens: Sequence[str], lexicons: Sequence[Lexicon]) -> np.ndarray:
    """(16 * len(lexicons),) float32: the features of the module docstring, per lexicon."""
    scores = np.zeros((len(tokens), len(lexicons)), dtype=np.float32)  # (T, K)
    present = np.zeros((len(tokens), len(lexicons)), dtype=bool)  # (T, K)
    for k, lexicon in enumerate(lexicons):
        for t, score in enumerate(lexicon_lookup(tokens, lexicon)):
            if score is not None:
                scores[t, k] = score
                present[t, k] = True
    return _features(scores, present, np.array(negation_scope(tokens), dtype=bool))


def vocab_arrays(
    tokens_of_vocab: Sequence[str], lexicons: Sequence[Lexicon]
) -> dict[str, np.ndarray]:
    """Per vocabulary entry, what `tweet_features_from_ids` needs (V entries, K lexicons):

    `scores`, `present`                  (V, K) float32: the entry's score (0 if absent), 0/1
    `hashtag_scores`, `hashtag_present`  (V, K) float32: the same for `#entry` (used when the
                                         previous token is `<hashtag>` and `#entry` is present)
    `negator`, `clause_end`              (V,) float32 0/1
    """
    shape = (len(tokens_of_vocab), len(lexicons))
    arrays = {
        key: np.zeros(shape, dtype=np.float32)
        for key in ("scores", "present", "hashtag_scores", "hashtag_present")
    }
    for k, lexicon in enumerate(lexicons):
        get = _getter(lexicon)
        for v, token in enumerate(tokens_of_vocab):
            for prefix, kind in (("", ""), ("#", "hashtag_")):
                score = get(prefix + token)
                if score is not None:
                    arrays[f"{kind}scores"][v, k] = score
                    arrays[f"{kind}present"][v, k] = 1.0
    arrays["negator"] = np.array([t in NEGATORS for t in tokens_of_vocab], dtype=np.float32)
    arrays["clause_end"] = np.array([t in CLAUSE_END for t in tokens_of_vocab], dtype=np.float32)
    return arrays


def tweet_features_from_ids(
    ids: Sequence[int], arrays: dict[str, np.ndarray], hashtag_id: int | None
) -> np.ndarray:
    """`tweet_features` from vocabulary ids and `vocab_arrays` (`hashtag_id`: the id of
    `<hashtag>`, None when the vocabulary has none). Equal to `tweet_features` on the tokens
    when every token is in the vocabulary."""
    rows = np.asarray(ids, dtype=np.int64).reshape(-1)  # (T,)
    after_tag = np.zeros(len(rows), dtype=bool)
    if hashtag_id is not None:
        after_tag[1:] = rows[:-1] == hashtag_id
    use_tag = after_tag[:, None] & (arrays["hashtag_present"][rows] > 0)  # (T, K)
    scores = np.where(use_tag, arrays["hashtag_scores"][rows], arrays["scores"][rows])  # (T, K)
    present = use_tag | (arrays["present"][rows] > 0)  # (T, K)
    negated = _negated(arrays["negator"][rows] > 0, arrays["clause_end"][rows] > 0)
    return _features(scores.astype(np.float32), present, negated)


def _negated(negator: np.ndarray, clause_end: np.ndarray) -> np.ndarray:
    """`negation_scope` from (T,) flags, in the closed form of the module docstring."""
    if len(negator) == 0:
        return np.zeros(0, dtype=bool)
    position = np.arange(len(negator))  # (T,)
    last_negator = np.maximum.accumulate(np.where(negator, position, -1))  # max{s <= t}
    before = np.concatenate(([-1], last_negator[:-1]))  # max{s < t : negator[s]}
    last_end = np.maximum.accumulate(np.where(clause_end, position, -1))  # max{s <= t}
    return (before > last_end) & ~negator


def _features(scores: np.ndarray, present: np.ndarray, negated: np.ndarray) -> np.ndarray:
    """(T, K) float32 scores, (T, K) bool in-lexicon, (T,) bool negated -> (K * 16,) float32.

    Sums are taken in float64 over the float32 scores and rounded once at the end."""
    length, k = scores.shape
    out = np.zeros((k, len(CONTEXTS), len(STATS)), dtype=np.float64)  # (K, 2, 8)
    if length == 0 or k == 0:
        return out.reshape(-1).astype(np.float32)
    values = scores.astype(np.float64)  # (T, K)
    columns = np.arange(k)
    for c, in_context in enumerate((~negated, negated)):
        member = present & in_context[:, None]  # (T, K): W of each lexicon
        pos, neg = member & (values > 0), member & (values < 0)
        found = member.any(axis=0)  # (K,)
        last = length - 1 - np.argmax(member[::-1], axis=0)  # (K,) last row of W
        out[:, c, 0] = pos.sum(axis=0)
        out[:, c, 1] = neg.sum(axis=0)
        out[:, c, 2] = np.where(pos, values, 0.0).sum(axis=0)
        out[:, c, 3] = np.where(neg, values, 0.0).sum(axis=0)
        out[:, c, 4] = np.where(found, np.where(member, values, -np.inf).max(axis=0), 0.0)
        out[:, c, 5] = np.where(found, np.where(member, values, np.inf).min(axis=0), 0.0)
        out[:, c, 6] = np.where(found, values[last, columns], 0.0)
        out[:, c, 7] = np.where(member, values, 0.0).sum(axis=0)
    return out.reshape(-1).astype(np.float32)
