"""Tests of genai_tf.data.text and genai_tf.data.corpora: the vocabulary, the corpora and their errors,
the block splits, the train windows (seeded by step) and the validation windows."""

import math
import time

import numpy as np
import pytest
import tensorflow as tf

import genai_tf.config as config
from genai_tf.data import corpora, shared, text

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def random_text(length, seed=0, alphabet=ALPHABET):
    """A text whose windows of 8+ characters almost surely occur once: a straddling window shows."""
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(alphabet), size=length))


@pytest.fixture
def no_data_dir(tmp_path, monkeypatch):
    """GENAI_TF_DATA_DIR points at an empty folder, so no local corpus file is found."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(config.DATA_DIR_ENV, str(empty))
    return empty


@pytest.fixture
def text_file(tmp_path):
    def write(content, name="corpus.txt"):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        return path

    return write


def load(text_file, content, **kwargs):
    return text.load(str(text_file(content)), **kwargs)


# --- the vocabulary ---------------------------------------------------------------------------


def test_vocabulary_round_trip_and_unknown_characters():
    vocabulary = text.Vocabulary.from_text("hello, world\n")
    assert vocabulary.characters == "\n ,dehlorw" and vocabulary.size == len(vocabulary) == 10
    ids = vocabulary.encode("world, hello")
    assert ids.dtype == np.int32 and ids.tolist()[:2] == [9, 7]  # 'w' is id 9, 'o' id 7
    assert vocabulary.decode(ids) == "world, hello"
    with pytest.raises(ValueError) as error:
        vocabulary.encode("hello XYZ", what="The prompt")
    message = str(error.value)
    assert message.startswith("The prompt has 3 character(s)") and all(repr(c) in message for c in "XYZ")
    with pytest.raises(ValueError, match="ids run from 0 to 9"):
        vocabulary.decode([10])


# --- the corpora ------------------------------------------------------------------------------


def test_pydoc_topics_is_the_joined_help_texts():
    from pydoc_data.topics import topics

    name, corpus = text.load_text("pydoc_topics")
    keys = sorted(topics)
    assert name == "pydoc_topics" and isinstance(corpus, str)
    assert len(corpus) == sum(len(topics[key]) for key in keys) + 2 * (len(keys) - 1)
    assert 300_000 < len(corpus) < 700_000  # about 465,000 characters on Python 3.11-3.13
    assert corpus.startswith(topics[keys[0]] + "\n\n" + topics[keys[1]])


def test_local_file_is_read_as_utf8_with_newlines_normalised(text_file):
    path = text_file("\ufeffHé llo\r\nwörld\rend\n", name="mine.txt")
    name, corpus = text.load_text(str(path))
    assert (name, corpus) == ("mine.txt", "Hé llo\nwörld\nend\n")
    assert text.load_text(path) == (name, corpus)  # a Path works too


def test_empty_file_is_refused(text_file):
    with pytest.raises(ValueError, match=r"empty\.txt' is empty"):
        text.load_text(str(text_file("", name="empty.txt")))


def test_non_utf8_file_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"caf" + "é au lait".encode("latin-1"))
    with pytest.raises(ValueError) as error:
        text.load_text(str(path))
    message = str(error.value)
    assert "is not UTF-8" in message and "byte 0xe9 at byte offset 3" in message
    assert "Re-encode" in message and "latin.txt" in message


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nowhere" / "plays.txt"
    with pytest.raises(FileNotFoundError, match="plays.txt' does not exist"):
        text.load_text(str(missing))


def test_unknown_name_lists_the_corpora_and_suggests_one():
    with pytest.raises(ValueError) as error:
        text.load_text("tiny_shakespear")
    message = str(error.value)
    assert "Did you mean 'tiny_shakespeare'?" in message
    assert all(name in message for name in text.SOURCES)
    with pytest.raises(ValueError, match="Unknown text corpus 'zzz'") as error:
        text.load_text("zzz")
    assert "Did you mean" not in str(error.value)


def test_tiny_shakespeare_from_tfds_joins_the_splits_in_order(no_data_dir, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(shared, "network_available", lambda *a, **k: True)
    pieces = {"train": "First Citizen:\n", "validation": "Before we proceed", "test": " any further."}

    def as_dataset(self, split, *args, **kwargs):
        return tf.data.Dataset.from_tensor_slices({"text": tf.constant([pieces[str(split)]])})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        assert text.load_text("tiny_shakespeare") == (
            "tiny_shakespeare", "First Citizen:\nBefore we proceed any further.")
    with tfds.testing.mock_data(num_examples=2):  # tfds's own random examples of the real features
        name, corpus = text.load_text("tiny_shakespeare")
    assert name == "tiny_shakespeare" and isinstance(corpus, str) and corpus


def test_tiny_shakespeare_and_shakespeare_from_local_files(tmp_path, no_data_dir, monkeypatch):
    monkeypatch.setattr(shared, "network_available", lambda *a, **k: pytest.fail("network"))
    (tmp_path / "tiny_shakespeare.txt").write_text("ROMEO:\nBut soft!\n", encoding="utf-8")
    (no_data_dir / "shakespeare.txt").write_text("Two households, both alike\n", encoding="utf-8")
    assert text.load_text("tiny_shakespeare", data_dir=tmp_path) == ("tiny_shakespeare", "ROMEO:\nBut soft!\n")
    assert text.load_text("shakespeare") == ("shakespeare", "Two households, both alike\n")  # $GENAI_TF_DATA_DIR
    assert corpora.available_offline("shakespeare") == (True, f"local file {no_data_dir / 'shakespeare.txt'}")


def test_offline_errors_say_what_is_missing_and_the_fix(no_data_dir, monkeypatch):
    monkeypatch.setattr(shared, "network_available", lambda *a, **k: False)
    monkeypatch.setattr(shared, "prepared", lambda builder: False)  # ignore any tfds cache
    start = time.monotonic()
    with pytest.raises(shared.DatasetUnavailableError) as error:
        text.load_text("tiny_shakespeare")
    assert time.monotonic() - start < 60  # tfds alone would retry for minutes
    message = str(error.value)
    for needed in ("'tiny_shakespeare'", "network is unreachable", "pydoc_topics", "GENAI_TF_DATA_DIR",
                   str(no_data_dir / "tiny_shakespeare.txt")):
        assert needed in message
    with pytest.raises(shared.DatasetUnavailableError) as error:
        text.load_text("shakespeare")
    assert str(no_data_dir / "shakespeare.txt") in str(error.value) and "../shared/data" in str(error.value)
    assert corpora.available_offline("tiny_shakespeare")[0] is False
    assert corpora.available_offline("pydoc_topics")[0] is True


# --- splits by blocks -------------------------------------------------------------------------


def test_splits_are_disjoint_cover_the_text_and_follow_the_fractions(text_file):
    corpus = random_text(200 * 40)
    data = load(text_file, corpus, context=8, block=40)
    bounds = sorted(b for split in text.SPLITS for b in data.bounds[split])
    assert bounds[0][0] == 0 and bounds[-1][1] == len(corpus)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, no gap, no overlap
    assert [len(data.bounds[s]) for s in text.SPLITS] == [180, 10, 10]
    assert [data.num_characters(s) for s in text.SPLITS] == [7200, 400, 400]
    for split in text.SPLITS:
        starts = [start for start, _ in data.bounds[split]]
        assert starts == sorted(starts)  # text order
        assert "".join(data.text(split)) == "".join(corpus[a:b] for a, b in data.bounds[split])
        assert [data.vocabulary.decode(ids) for ids in data.ids(split)] == data.text(split)
    other = load(text_file, corpus, context=8, block=40, fractions=(0.7, 0.2, 0.1))
    assert [len(other.bounds[s]) for s in text.SPLITS] == [140, 40, 20]


def test_splits_are_seeded(text_file):
    corpus = random_text(5000)
    first, again = (load(text_file, corpus, context=8, seed=3) for _ in range(2))
    other = load(text_file, corpus, context=8, seed=4)
    assert first.bounds == again.bounds and first.bounds != other.bounds
    assert first.run_settings() == again.run_settings() != other.run_settings()


def test_default_block_and_uneven_lengths(text_file):
    assert text.default_block(465_126, 128) == 2325  # pydoc_topics: 200 blocks
    assert text.default_block(20_000, 128) == 516  # 4 windows
    assert text.default_block(600, 128) == 200  # a third of the text
    data = load(text_file, random_text(1003), context=8, block=100)  # 10 blocks of 100 or 101
    lengths = [b - a for split in text.SPLITS for a, b in data.bounds[split]]
    assert sum(lengths) == 1003 and min(lengths) >= 100 and max(lengths) <= 101


def test_limit_keeps_the_first_characters_and_the_vocabulary_is_the_whole_text(text_file):
    corpus = random_text(3000, alphabet="abc") + "XYZ"
    data = load(text_file, corpus, context=8, limit=2000)
    assert data.corpus == corpus[:2000] and data.vocabulary.characters == "abc"
    full = load(text_file, corpus, context=8)
    assert full.vocabulary.characters == "XYZabc"  # Z is in one block only, still known everywhere


def test_a_text_too_short_for_the_context_is_refused(text_file):
    with pytest.raises(ValueError) as error:
        load(text_file, "x" * 26, context=8)
    message = str(error.value)
    assert "26 characters" in message and "context + 1 = 9" in message and "at least 27" in message
    assert load(text_file, "x" * 27, context=8).block == 9  # three windows: just enough
    with pytest.raises(ValueError, match="block=5 is shorter than one window"):
        load(text_file, "x" * 100, context=8, block=5)


@pytest.mark.parametrize("argument, value", [("context", 0), ("batch_size", 0), ("seed", -1), ("limit", 0),
                                             ("fractions", (0.9, 0.1, 0.0)), ("fractions", (0.5, 0.2))])
def test_bad_arguments_are_refused(text_file, argument, value):
    with pytest.raises(ValueError, match=argument):
        load(text_file, random_text(500), **{argument: value})


# --- windows ----------------------------------------------------------------------------------


def test_train_windows_stay_in_train_blocks_and_targets_are_the_next_characters(text_file):
    corpus = random_text(2000, seed=1)
    data = load(text_file, corpus, context=8, batch_size=32, block=50)
    train_blocks = data.text("train")
    held_out = data.text("validation") + data.text("test")
    for inputs, targets in data.train_stream().take(20):
        inputs, targets = inputs.numpy(), targets.numpy()
        assert inputs.shape == targets.shape == (32, 8) and inputs.dtype == np.int32
        assert (inputs[:, 1:] == targets[:, :-1]).all()
        for row_in, row_target in zip(inputs, targets):
            window = data.vocabulary.decode(np.append(row_in, row_target[-1]))  # 9 characters
            assert any(window in block for block in train_blocks)
            assert not any(window in block for block in held_out)


def test_train_starts_are_uniform_over_every_valid_start(text_file):
    data = load(text_file, random_text(300, seed=2), context=4, batch_size=64, block=30)
    valid = data.window_starts("train")
    assert len(valid) == 8 * (30 - 5 + 1)  # 8 train blocks of 30, each with 26 window starts
    drawn = np.concatenate([data.batch_starts(step) for step in range(150)])
    values, counts = np.unique(drawn, return_counts=True)
    assert values.tolist() == valid.tolist()  # every valid start, and no other
    expected = len(drawn) / len(valid)  # about 46 each
    assert counts.min() > 0.4 * expected and counts.max() < 1.8 * expected
    inputs, _ = next(iter(data.train_stream(7)))
    assert (inputs.numpy() == np.stack([data.encoded[s:s + 4] for s in data.batch_starts(7)])).all()


def test_train_stream_resumes_at_any_step(text_file):
    data = load(text_file, random_text(3000), context=8, batch_size=16, seed=5)
    unbroken = [batch for batch in data.train_stream(0).take(6)]
    resumed = next(iter(data.train_stream(5)))
    for got, want in zip(resumed, unbroken[5]):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert not np.array_equal(unbroken[4][0].numpy(), unbroken[5][0].numpy())
    other_seed = load(text_file, random_text(3000), context=8, batch_size=16, seed=6)
    assert not np.array_equal(next(iter(other_seed.train_stream(5)))[0].numpy(), resumed[0].numpy())
    with pytest.raises(ValueError, match="start_step"):
        data.train_stream(-1)


def test_validation_windows_tile_the_validation_blocks(text_file):
    corpus = random_text(4000, seed=3)
    data = load(text_file, corpus, context=8, batch_size=5, block=100)  # blocks of 100: 12 windows each
    batches = [(x.numpy(), y.numpy()) for x, y in data.validation]
    inputs = np.concatenate([x for x, _ in batches])
    targets = np.concatenate([y for _, y in batches])
    blocks = data.ids("validation")
    assert len(blocks) == 2 and len(inputs) == 2 * 12 and len(batches[-1][0]) == 24 % 5
    per_block = targets.reshape(len(blocks), 12 * 8)
    for block, block_targets, block_inputs in zip(blocks, per_block, inputs.reshape(2, 12, 8)):
        np.testing.assert_array_equal(block_targets, block[1:1 + 96])  # the targets tile the block
        np.testing.assert_array_equal(block_inputs[:, 0], block[0:96:8])  # windows start every 8
    assert len(list(data.windows("test"))) == math.ceil(24 / 5)


def test_steps_per_epoch_spec_and_settings(text_file):
    data = load(text_file, random_text(8000), context=8, batch_size=10, block=40)
    assert data.steps_per_epoch == 7200 // 80
    assert data.spec == text.TextSpec(data.vocabulary, 8)
    fields = data.run_settings()
    assert fields["characters"] == 8000 and fields["context"] == 8 and fields["vocabulary_size"] == 26
    assert len(fields["text_sha256"]) == 64 and fields["block"] == 40
    assert load(text_file, random_text(8000, seed=9), context=8, batch_size=10,
                block=40).run_settings()["text_sha256"] != fields["text_sha256"]
    assert not hasattr(data, "image_shape")
    with pytest.raises(ValueError, match="split='valid'"):
        data.ids("valid")

