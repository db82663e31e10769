"""The study file: what it holds, and one clear line for each kind of mistake."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tweetsent.cli import main
from tweetsent.errors import ConfigError
from tweetsent.study import load_study
from tweetsent.study.spec import PROTOCOLS, study_from_dict


def test_arms_seeds_and_configs(study_toml, tmp_path):
    spec = load_study(study_toml())
    tiny_data = {k: tmp_path / f"{k}.tsv" for k in ("train", "valid", "test")}
    assert [a.name for a in spec.arms] == ["lstm", "gru"]
    assert spec.settings.seeds == (1, 2) and spec.settings.baseline == "lstm"
    assert spec.planned() == [("lstm", 1), ("gru", 1), ("lstm", 2), ("gru", 2)]  # seed by seed
    config = spec.config("gru", 2)
    assert config.model.cell == "gru" and config.train.seed == 2
    assert config.embed.kind == "random" and config.data.valid == [str(tiny_data["valid"])]
    assert spec.test == [str(tiny_data["test"])]
    assert str(spec.run_dir("gru", 2)).endswith("out/tiny/runs/gru/seed-2")
    assert spec.fingerprint("lstm") != spec.fingerprint("gru")


def test_settings_are_frozen_and_the_baseline_defaults_to_the_first_arm(study_toml):
    path = study_toml()
    path.write_text(path.read_text().replace('baseline = "lstm"\n', ""))
    spec = load_study(path)
    assert spec.settings.baseline == "lstm"  # set by a copy, not by assignment
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.settings.workers = 2  # type: ignore[misc]
    again = spec.with_settings({"workers": 2, "seeds": [3]})
    assert (again.settings.workers, again.settings.seeds) == (2, (3,))
    assert (spec.settings.workers, spec.settings.seeds) == (1, (1, 2))


def test_an_arm_from_a_config_file_under_the_study_data(study_toml, tmp_path):
    (tmp_path / "arm.toml").write_text(
        '[model]\nhidden_size = 12\nnum_layers = 2\npooling = "mean"\n'
        '[data]\ntrain = ["elsewhere.tsv"]\n'
    )
    arms = '[arms.lstm]\n[arms.mine]\nconfig = "arm.toml"\nmodel.pooling = "last"\n'
    spec = load_study(study_toml(arms=arms))
    config = spec.config("mine", 1)
    # the file's fields, then the study's [data] and [fixed] (hidden_size = 8), then the arm's
    assert config.model.num_layers == 2 and config.model.hidden_size == 8
    assert config.model.pooling == "last"
    assert config.data.train == spec.base.data.train != ["elsewhere.tsv"]


def test_an_arm_whose_files_are_missing_is_skipped(study_toml, tmp_path):
    arms = (
        '[arms.lstm]\n[arms.elmo]\nrequires = ["nope/options.json"]\nembed.kind = "elmo"\n'
        'embed.elmo_options = "nope/options.json"\nembed.elmo_weights = "nope/w.hdf5"\n'
    )
    spec = load_study(study_toml(arms=arms))
    assert spec.arm("elmo").missing == ["nope/options.json"]
    assert [a.name for a in spec.active] == ["lstm"]


def test_requires_may_be_one_file_name_never_read_character_by_character(study_toml, tmp_path):
    """`requires = "x"` is the file x (a list of one), not the files "x"'s characters name:
    missing, the arm is skipped naming it; present, the arm runs; a number is one line."""
    arms = '[arms.lstm]\n[arms.gru]\nmodel.cell = "gru"\nrequires = "{}"\n'
    spec = load_study(study_toml(arms=arms.format("nope/options.json")))
    assert spec.arm("gru").missing == ["nope/options.json"]
    assert [a.name for a in spec.active] == ["lstm"]
    there = tmp_path / "x"
    there.write_text("")
    spec = load_study(study_toml(arms=arms.format(there)))
    assert spec.arm("gru").missing == [] and [a.name for a in spec.active] == ["lstm", "gru"]
    with pytest.raises(ConfigError, match=r"arms\.gru\.requires: expected a file or a list"):
        load_study(study_toml(arms=arms.replace('"{}"', "5")))


def test_protocols_name_the_semeval_files(tmp_path):
    folder = tmp_path / "semeval"
    folder.mkdir()
    years = ("2013train", "2014test", "2015train", "2016train", "2016dev", "2016devtest")
    for name in (*years, "2016test"):
        (folder / f"twitter-{name}-A.tsv").write_text("1\tpositive\tgood\n")
    raw = {"data": {"protocol": "holdout", "folder": str(folder)}, "arms": {"a": {}}}
    spec = study_from_dict(raw)
    names = [p.rsplit("/", 1)[1] for p in spec.base.data.train]
    assert names == sorted(f"twitter-{y}-A.tsv" for y in years)  # all but the test file
    assert spec.base.data.valid == [] and spec.test == [str(folder / "twitter-2016test-A.tsv")]
    raw["data"]["protocol"] = "dev2016"
    spec = study_from_dict(raw)
    assert spec.base.data.valid == [str(folder / p) for p in PROTOCOLS["dev2016"][1]]


BAD = [
    ("seeds = [1, 2]", "seeds = [1, 1]", "study.seeds: give distinct seeds"),
    ("[study]\n", "[study]\nworkerz = 2\n", "study.workerz: unknown field"),
    ("bootstrap = 200", "bootstrap = 1.5", "study.bootstrap: expected int, got 1.5"),
    ('baseline = "lstm"', 'baseline = "bilstm"', "study.baseline: no arm named 'bilstm'"),
    ('model.cell = "gru"', 'model.cell = "gruu"', "arms.gru: model.cell: 'gruu' is not one of"),
    ('model.cell = "gru"', 'model.cel = "gru"', "arms.gru.model.cel: no such config field"),
    ('model.cell = "gru"', "train.seed = 3", "arms.gru.train.seed: seeds come from study.seeds"),
    ("[arms.gru]", "[arms.gru]\nconfig = 'missing.toml'", "arms.gru.config: .*missing.toml"),
    ("[arms.gru]", '[arms."g/ru"]', "arms.g/ru: an arm's name is letters"),
    ("[fixed]", "[fixd]", r"unknown table \[fixd\]"),
    ("train.epochs = 2", "train.epochs = 0", r"\[fixed\]/\[data\]: train.epochs: 0 must be"),
    ("test.tsv", "absent.tsv", "data.test: .*absent.tsv: no such file"),
    ("valid.tsv", "gone*.tsv", "data.valid: .*gone.*.tsv: no such file"),
    ("[study]\n", '[study]\nbase = "nobase.toml"\n', "study.base: .*nobase.toml: no such config"),
    ("min_freq = 1", "protocol = 'holdout'", "data.train: give a protocol or files, not both"),
    ("min_freq = 1", "colour = 1", "data.data.colour: no such config field"),
    ("[study]\n", "[study\n", "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_bad_files_are_one_line_naming_file_and_key(study_toml, capsys, old, new, message):
    path = study_toml()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError, match=message) as caught:
        load_study(path)
    assert str(caught.value).startswith(str(path))
    assert main(["study", str(path)]) == 2  # the command: the same line, exit 2, no traceback
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_missing_study_file_or_a_folder(tmp_path, capsys):
    assert main(["study", str(tmp_path / "none.toml")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none.toml'}: no such study file"
    assert main(["study", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path}: is a folder, not a study file"


BAD_TEST_FILES = [
    ("list", "data.test: no test file"),
    ("empty", "test.tsv: no usable rows read"),
    ("labels", r"test.tsv:\d+: unknown label\(s\) 'great'"),
    ("nul", "test.tsv: binary file"),
    ("folder", "data.test: .*: is a folder"),
    ("valid", r"valid.tsv:\d+: unknown label\(s\) 'bad'"),
]


@pytest.mark.parametrize(("damage", "message"), BAD_TEST_FILES)
def test_bad_data_files_are_one_line_before_anything_trains(study_toml, capsys, damage, message):
    """Issue 26 item 4: every data file (train, valid, test) is checked before the first run."""
    path = study_toml()
    root = path.parent
    test = root / "test.tsv"
    if damage == "list":
        path.write_text(path.read_text().replace(f'test = ["{test}"]', "test = []"))
    elif damage == "empty":
        test.write_text("")
    elif damage == "labels":
        lines = test.read_text().splitlines(keepends=True)
        lines[-1] = (
            lines[-1].replace("\tpositive\t", "\tgreat\t").replace("\tneutral\t", "\tgreat\t")
        )
        lines[-1] = lines[-1].replace("\tnegative\t", "\tgreat\t")
        test.write_text("".join(lines))
    elif damage == "nul":
        lines = test.read_text().splitlines(keepends=True)
        test.write_text(lines[0] + lines[1].replace("\t", "\t\x00", 2) + "".join(lines[2:]))
    elif damage == "folder":
        (root / "tests").mkdir()
        path.write_text(path.read_text().replace(f'test = ["{test}"]', f'test = ["{root}/tests"]'))
    else:
        valid = root / "valid.tsv"
        lines = valid.read_text().splitlines(keepends=True)
        lines[-1] = lines[-1].replace("\tpositive\t", "\tbad\t").replace("\tneutral\t", "\tbad\t")
        valid.write_text("".join(lines[:-1] + [lines[-1].replace("\tnegative\t", "\tbad\t")]))
    status = main(["study", str(path), "--quiet"])
    assert not (root / "out" / "tiny" / "runs").exists()  # nothing trained
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
