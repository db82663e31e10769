import dataclasses
import json
from pathlib import Path

import pytest

from tweetsent.config import EmbedConfig, ModelConfig, RunConfig, TrainConfig
from tweetsent.errors import ConfigError


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ModelConfig(cell="rnn"), "model.cell"),
        (lambda: ModelConfig(num_layers=0), "model.num_layers"),
        (lambda: ModelConfig(output_dropout=1.5), "model.output_dropout"),
        (lambda: TrainConfig(device="gpu"), "train.device"),
        (lambda: TrainConfig(lr=0), "train.lr"),
        (lambda: TrainConfig(early_stopping="auc"), "train.early_stopping"),
    ],
)
def test_bad_field_is_named(build, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        build()


def test_round_trip_through_dict():
    config = RunConfig().with_overrides({"model.cell": "gru", "data.train": ["a.tsv"]})
    assert RunConfig.from_dict(config.to_dict()) == config


def test_toml_file_and_errors(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[model]\ncell = "gru"\nhidden_size = 32\n[train]\nlr = 1\n')
    config = RunConfig.from_toml(good)
    assert config.model.cell == "gru" and config.train.lr == 1.0
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nhiden_size = 32\n")
    with pytest.raises(ConfigError, match="unknown field model.hiden_size"):
        RunConfig.from_toml(bad)
    wrong_type = tmp_path / "type.toml"
    wrong_type.write_text('[train]\nepochs = "ten"\n')
    with pytest.raises(ConfigError, match="train.epochs: expected int"):
        RunConfig.from_toml(wrong_type)
    with pytest.raises(ConfigError, match="no such config file"):
        RunConfig.from_toml(tmp_path / "missing.toml")


def test_override_needs_section():
    with pytest.raises(ConfigError, match="section.field"):
        RunConfig().with_overrides({"hidden_size": 3})


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_config_file_is_the_defaults():
    assert RunConfig.from_toml(CONFIGS / "default.toml") == RunConfig()


def test_search_best_config_changes_only_what_the_search_chose():
    best = RunConfig.from_toml(CONFIGS / "search-best.toml").to_dict()
    default = RunConfig().to_dict()
    changed = {
        f"{section}.{key}"
        for section, fields in default.items()
        if isinstance(fields, dict)
        for key, value in fields.items()
        if best[section][key] != value
    }
    assert changed == {
        "embed.lexicon",
        "embed.dropout",
        "model.output_dropout",
        "train.lr",
        "train.batch_size",
        "train.clip_norm",
    }


def test_configs_are_frozen_and_overrides_make_copies():
    config = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train.epochs = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.out = "elsewhere"  # type: ignore[misc]
    changed = config.with_overrides({"train.epochs": 3})
    assert (changed.train.epochs, config.train.epochs) == (3, RunConfig().train.epochs)


def test_search_shares_cores_through_overrides_not_by_mutation():
    from tweetsent.search.trial import cpu_overrides

    config = RunConfig().with_overrides({"train.threads": 0, "data.workers": 0})
    overrides = cpu_overrides(config, workers=2)
    assert overrides["data.workers"] == 1 and overrides["train.threads"] >= 1
    assert (config.train.threads, config.data.workers) == (0, 0)
    assert cpu_overrides(RunConfig().with_overrides({"train.threads": 2}), 1) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("vader", ("vader",)), ("", ()), (["vader", "pmi:a.txt"], ("vader", "pmi:a.txt")), ([], ())],
)
def test_lexicon_is_a_tuple_and_an_old_single_string_still_loads(value, expected, tmp_path):
    """config.json files written before lexicon lists hold one string ("" for none)."""
    old = RunConfig().to_dict()
    old["embed"]["lexicon"] = value
    config = RunConfig.from_dict(old)
    assert config.embed.lexicon == expected
    assert RunConfig().with_overrides({"embed.lexicon": value}).embed.lexicon == expected
    assert RunConfig.from_dict(config.to_dict()) == config
    toml = tmp_path / "old.toml"
    toml.write_text(f"[embed]\nlexicon = {json.dumps(value)}\n")
    assert RunConfig.from_toml(toml).embed.lexicon == expected


def test_lexicon_spec_list_is_checked():
    with pytest.raises(ConfigError, match="embed.lexicon: expected a list of strings"):
        RunConfig().with_overrides({"embed.lexicon": ["vader", 3]})
    assert EmbedConfig(lexicon=["", "vader"]).lexicon == ("vader",)


def test_list_fields_are_tuples_inside_and_lists_in_config_json():
    """Frozen all the way down: no list to append to; config.json keeps its lists, so files
    written before (and after) read back and write out byte for byte."""
    saved = RunConfig().to_dict()
    saved["embed"]["lexicon"] = ["vader", "pmi:a.txt"]
    saved["model"]["kind"], saved["model"]["cnn_widths"] = "cnn", [2, 3]
    config = RunConfig.from_saved(saved)
    assert config.embed.lexicon == ("vader", "pmi:a.txt") and config.model.cnn_widths == (2, 3)
    assert RunConfig().model.cnn_widths == (1, 2, 3, 4)
    assert ModelConfig(cnn_widths=[3, 4]).cnn_widths == (3, 4)
    assert config.to_dict() == saved and json.dumps(config.to_dict()) == json.dumps(saved)
    assert isinstance(config.to_dict()["model"]["cnn_widths"], list)
    with pytest.raises(ConfigError, match="model.cnn_widths: expected a list of integers"):
        RunConfig().with_overrides({"model.cnn_widths": [2, "3"]})


def test_transformer_runs_take_lexicons_for_tweet_features_but_no_clusters():
    tf = {"embed.kind": "transformer", "embed.transformer": "m", "model.kind": "transformer"}
    with pytest.raises(ConfigError, match="embed.clusters: not available with embed.kind"):
        RunConfig().with_overrides(tf | {"embed.clusters": "c.txt"})
    with_features = tf | {"embed.lexicon": ["vader"], "model.tweet_features": True}
    assert RunConfig().with_overrides(with_features).embed.lexicon == ("vader",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"embed.clusters": "c.txt"}, "embed.clusters"),
        ({"embed.lexicon": ["vader"]}, "embed.lexicon"),
        ({"embed.lexicon": ["vader"], "embed.clusters": "c.txt"}, "embed.lexicon"),
    ],
)
def test_lexicons_and_clusters_need_word_vectors(fields, field):
    elmo = {"embed.kind": "elmo", "embed.elmo_model": "small"}
    with pytest.raises(ConfigError, match=rf"{field}: needs word vectors"):
        RunConfig().with_overrides(elmo | fields)
    beside = RunConfig().with_overrides(elmo | fields | {"embed.elmo_concat": "random"})
    assert beside.embed.clusters == fields.get("embed.clusters", "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"embed.cluster_dim": 0}, "embed.cluster_dim"),
        ({"model.kind": "bag"}, "model.kind"),
        ({"model.ngram_dim": 0}, "model.ngram_dim"),
        ({"model.ngram_buckets": 1}, "model.ngram_buckets"),
        ({"model.ngram_hidden": -1}, "model.ngram_hidden"),
        ({"model.tweet_features": "yes"}, "model.tweet_features"),
        ({"embed.lexicon_vocab": 1}, "embed.lexicon_vocab"),
    ],
)
def test_new_fields_are_checked(fields, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        RunConfig().with_overrides(fields)


def test_ngram_config_defaults():
    model = RunConfig().with_overrides({"model.kind": "ngram"}).model
    assert model.kind == "ngram" and model.ngram_chars and model.ngram_hidden == 0
    assert not model.tweet_features  # the n-gram model reads them whenever lexicons are given


def test_semeval_best_recipe_reads_its_members_with_the_recipes_data_and_seed(tmp_path):
    from tweetsent.train.recipe import member_configs

    recipe = RunConfig.from_toml(CONFIGS / "semeval-best.toml").with_overrides(
        {"data.train": ["train.tsv"], "train.seed": 7, "out": str(tmp_path / "best")}
    )
    assert recipe.is_ensemble and recipe.ensemble.weights == "fit"
    assert recipe.ensemble.refit == []  # configs/semeval-best.toml: no refit
    members = dict(member_configs(recipe))
    assert sorted(members) == ["bilstm", "ngram"]
    ngram, bilstm = members["ngram"], members["bilstm"]
    assert (ngram.model.kind, bilstm.model.kind) == ("ngram", "rnn")
    for member in (ngram, bilstm):
        assert member.data.train == ["train.tsv"] and member.train.seed == 7
        assert not member.is_ensemble
        # lexicon files are named relative to the working directory (the repository root)
        files = [spec for spec in member.embed.lexicon if spec != "vader"]
        assert files and all(f.startswith("../shared/data/lexicons/") for f in files)
    assert len(ngram.embed.lexicon) == 8 and ngram.embed.clusters.endswith("50mpaths2.txt.gz")
    assert ngram.data.min_freq == 1 and bilstm.data.min_freq == 2
    assert Path(ngram.out) == tmp_path / "best" / "members" / "ngram"


def test_semeval_transformer_recipe_members_read_what_docs_say(tmp_path):
    """configs/semeval-transformer.toml: two two-epoch fine-tunes of the encoder, the recipe's
    seed and seed + 100, averaged, both trained on the validation tweets too, with no held-out
    stage (docs/results.md, session 12)."""
    from tweetsent.train.recipe import member_configs

    recipe = RunConfig.from_toml(CONFIGS / "semeval-transformer.toml").with_overrides(
        {"data.train": ["train.tsv"], "train.seed": 3, "out": str(tmp_path / "tf")}
    )
    assert recipe.is_ensemble and recipe.ensemble.weights == "uniform"
    assert recipe.ensemble.refit == ["finetuned", "finetuned-2"] and not recipe.ensemble.heldout
    members = dict(member_configs(recipe))
    assert sorted(members) == ["finetuned", "finetuned-2"]
    first, second = members["finetuned"], members["finetuned-2"]
    assert (first.model.kind, first.embed.kind) == ("transformer", "transformer")
    assert (first.train.seed, second.train.seed) == (3, 103)
    assert dataclasses.replace(second, out=first.out, train=first.train) == first  # seed only
    for member in members.values():
        assert member.data.train == ["train.tsv"] and member.train.epochs == 2
        assert member.data.valid == recipe.data.valid and len(recipe.data.valid) == 2
