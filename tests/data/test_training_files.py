"""What training reads of `data.train`: never a validation file, never a release's test split."""

import pytest

from synthetic import synthetic_tweets, write_tsv
from tweetsent.data.prepare import training_files
from tweetsent.data.registry import DATASETS
from tweetsent.errors import DataError

SEMEVAL = DATASETS["semeval2017-4a"]


@pytest.fixture
def release(tmp_path):
    """A folder laid out like the SemEval-2017 4A release (tiny synthetic files)."""
    folder = tmp_path / "semeval"
    folder.mkdir()
    for k, item in enumerate(SEMEVAL.files):
        write_tsv(folder / item.name, synthetic_tweets(6, seed=k), start_id=100 * k)
    return folder


def test_a_release_folder_trains_on_its_train_split(release):
    files, excluded = training_files([str(release)], [])
    names = {p.rsplit("/", 1)[1] for p in files}
    assert names == set(SEMEVAL.splits["train"])
    assert excluded == [f"{release / 'twitter-2016test-A.tsv'} (the dataset's test split)"]


def test_validation_files_are_never_trained_on(release):
    valid = [str(release / name) for name in SEMEVAL.splits["dev"]]
    files, excluded = training_files([str(release)], valid)
    assert not set(files) & set(valid)
    assert len(excluded) == 3 and sum(n.endswith("(a validation file)") for n in excluded) == 2


def test_files_named_one_by_one_are_read_as_named(release):
    """Only a whole release folder loses its test split; a file named explicitly is read."""
    test = str(release / "twitter-2016test-A.tsv")
    assert training_files([test], []) == ([test], [])
    other = write_tsv(release.parent / "mine.tsv", synthetic_tweets(6))
    assert training_files([str(other)], []) == ([str(other)], [])
    with pytest.raises(DataError, match="also a validation or test file"):
        training_files([test], [test])
