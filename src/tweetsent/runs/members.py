"""An ensemble run's members: the `members/` folder, the shared vocabulary, the loaded model.

    RUN/config.json          RunConfig with ensemble.members = the member names
    RUN/vocab.json           union of the members' vocabularies (specials first)
    RUN/model.safetensors    the ensemble's own buffers: remap_k (ensemble id -> member id), weights
    RUN/members/NAME/        each member's own run directory

`runs.rundir.load_run` hands an ensemble run to `load_ensemble`, with itself as the loader of
the members (this module sits below rundir so that rundir can import it; building an ensemble
run is `runs.ensemble`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_path
from tweetsent.models.ensemble import EnsembleClassifier
from tweetsent.text import Vocabulary
from tweetsent.text.vocab import SPECIALS, UNK_ID

MEMBERS = "members"
WEIGHTS = "model.safetensors"  # = rundir.WEIGHTS


def member_dirs(run_dir: Path, names: Sequence[str]) -> list[Path]:
    """The members' run directories, `run_dir/members/NAME`; a missing one is an error, and so
    is one that is not a folder right under `members/` once symlinks are resolved (a name
    like `../../gru`, an absolute path, a link out of the run): an edited config.json never
    loads runs from elsewhere."""
    folder = Path(run_dir) / MEMBERS
    paths = [folder / name for name in names]
    for name, path in zip(names, paths, strict=True):
        if not path.is_dir():
            raise TweetsentError(f"{run_dir}: ensemble member {path.name!r} is missing ({path})")
        if Path(name).name != name or path.resolve().parent != folder.resolve():
            raise TweetsentError(
                f"{run_dir}: ensemble member {name!r} is not a folder in {folder} "
                "(members must live inside the ensemble run)"
            )
    return paths


def union_vocabulary(vocabs: Sequence[Vocabulary]) -> Vocabulary:
    """The specials, then each member's tokens in its own order, each token once."""
    tokens = list(SPECIALS)
    seen = set(tokens)
    for vocab in vocabs:
        for token in vocab.tokens:
            if token not in seen:
                seen.add(token)
                tokens.append(token)
    return Vocabulary(tokens)


def remap_ids(vocab: Vocabulary, member: Vocabulary) -> np.ndarray:
    """(len(vocab),) int64: each ensemble id's id in the member's vocabulary (<unk> if none)."""
    index = {token: i for i, token in enumerate(member.tokens)}
    return np.fromiter((index.get(t, UNK_ID) for t in vocab.tokens), np.int64, len(vocab))


def save_ensemble_weights(model: EnsembleClassifier, path: Path) -> None:
    with atomic_path(path) as tmp:
        save_file(model.own_state(), str(tmp))


def load_ensemble(
    run: Any, load_member: Callable[[Path], Any], device: str | torch.device = "cpu"
) -> EnsembleClassifier:
    """The ensemble model of a read run (`rundir.LoadedRun`): every member loaded with
    `load_member(path)` (rundir's `load_run`), then the ensemble's own buffers, strictly."""
    names = run.config.ensemble.members
    members = [load_member(path) for path in member_dirs(run.path, names)]
    for member in members:
        check_compatible(members[0], member)
    if members[0].labels != run.labels:
        raise TweetsentError(f"{run.path}: labels {run.labels} differ from its members'")
    remaps = [remap_ids(run.vocab, member.vocab) for member in members]
    model = EnsembleClassifier([m.model for m in members], len(run.vocab), remaps)
    path = run.path / WEIGHTS
    try:
        state = load_file(str(path))
        model.load_own_state(state)
    except (SafetensorError, OSError) as exc:
        raise TweetsentError(f"{path}: cannot read weights ({exc})") from None
    except ValueError as exc:
        raise TweetsentError(f"{path}: {exc}") from None
    for index, remap in enumerate(remaps):
        if not np.array_equal(getattr(model, f"remap_{index}").numpy(), remap):
            raise TweetsentError(
                f"{path}: the saved id map of member {names[index]!r} does not match the "
                "vocabularies (a vocab.json was changed)"
            )
    return model.to(device).eval()


def check_compatible(first: Any, other: Any) -> None:
    """Members of one ensemble share their labels and their text settings (one tokenisation
    serves them all), and ELMo members what their biLMs read (`embed.elmo_input`); anything
    else is a one-line error naming both runs."""
    if other.labels != first.labels:
        raise TweetsentError(
            f"{other.path} has labels {other.labels}, {first.path} has {first.labels}: "
            "ensemble members must share their labels"
        )
    if other.config.text != first.config.text:
        raise TweetsentError(
            f"{other.path} and {first.path} clean tweets differently ([text] settings differ): "
            "ensemble members must share their text config"
        )
    ours, theirs = first.config.embed, other.config.embed
    if ours.needs_words and theirs.needs_words and ours.kind != theirs.kind:
        raise TweetsentError(
            f"{other.path} reads {theirs.kind} features, {first.path} {ours.kind} features: "
            "an ensemble has at most one kind of contextual member (ELMo or transformer)"
        )
    if ours.needs_words and theirs.needs_words and ours.elmo_input != theirs.elmo_input:
        raise TweetsentError(
            f"{other.path} and {first.path} feed their biLMs differently (embed.elmo_input "
            f"{theirs.elmo_input} vs {ours.elmo_input}): ELMo members must share it"
        )
    if ours.needs_words and theirs.needs_words and ours.contextual_input != theirs.contextual_input:
        raise TweetsentError(
            f"{other.path} and {first.path} feed their encoders differently "
            f"(embed.transformer_emoji {theirs.transformer_emoji} vs {ours.transformer_emoji}): "
            "transformer members must share it"
        )
