"""Import allennlp 2.10.1's ELMo biLM without its heavy package chain (bench only).

allennlp's package `__init__` files import transformers, spacy and its whole data stack. The
ELMo forward path needs none of it: this helper registers empty package stubs (pointing at
the real source folders) and small stand-ins for the names that `modules/elmo.py` and its
imports bind at import time but never call on that path, then imports the *real* source of
`modules/elmo.py`, `elmo_lstm.py`, `lstm_cell_with_projection.py`, `encoder_base.py`,
`highway.py`, `scalar_mix.py`, `nn/util.py`, `nn/initializers.py`, `common/checks.py` and
`data/token_indexers/elmo_indexer.py`.

Run under the scratch venv (torch, numpy, h5py, `pip install --no-deps allennlp==2.10.1`).
allennlp is never a dependency of tweetsent.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any


def _module(name: str, path: Path | None = None, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    if path is not None:
        module.__path__ = [str(path)]  # a package whose submodules load from the real files
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


class _Registrable:
    """Stand-in for allennlp's registry: `@X.register(name)` returns the class unchanged."""

    @classmethod
    def register(cls, *args: Any, **kwargs: Any) -> Any:
        return lambda thing: thing


class _Unused:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("not needed on the ELMo biLM path")


def _unused(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("not needed on the ELMo biLM path")


def load() -> types.SimpleNamespace:
    """Returns allennlp's `_ElmoBiLm`, `ELMoCharacterMapper`, `remove_sentence_boundaries`."""
    spec = importlib.util.find_spec("allennlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("allennlp is not installed here: run me under the scratch venv")
    root = Path(list(spec.submodule_search_locations)[0])
    for name in ("", ".data", ".data.tokenizers", ".data.token_indexers", ".modules", ".nn"):
        _module("allennlp" + name, root / name[1:].replace(".", "/"))
    _module("allennlp.common", root / "common", FromParams=object, Registrable=_Registrable)
    _module("allennlp.common.file_utils", cached_path=str)
    _module(
        "allennlp.common.util",
        lazy_groups_of=_unused,
        pad_sequence_to_length=_unused,
        int_to_device=_unused,
        is_distributed=lambda: False,
        is_global_primary=lambda: True,
    )
    sys.modules["allennlp.data.tokenizers"].Token = _Unused
    _module("allennlp.data.tokenizers.token_class", Token=_Unused)
    _module("allennlp.data.instance", Instance=_Unused)
    _module("allennlp.data.vocabulary", Vocabulary=_Unused)
    _module("allennlp.data.batch", Batch=_Unused)
    _module("allennlp.data.fields", TextField=_Unused)
    _module(
        "allennlp.data.token_indexers.token_indexer",
        TokenIndexer=_Registrable,
        IndexedTokenList=dict,
    )
    elmo = importlib.import_module("allennlp.modules.elmo")
    indexer = importlib.import_module("allennlp.data.token_indexers.elmo_indexer")
    util = importlib.import_module("allennlp.nn.util")
    return types.SimpleNamespace(
        ElmoBiLm=elmo._ElmoBiLm,
        CharacterMapper=indexer.ELMoCharacterMapper,
        remove_sentence_boundaries=util.remove_sentence_boundaries,
        source=root,
        version=importlib.metadata.version("allennlp"),
    )
