"""Tests of genai_tf.data.plays and text.load's split by whole plays: the works found from the
text's structure, no play in two splits, the held-out sizes, determinism, and the block split kept
for texts without plays (pydoc_topics)."""

import os
from pathlib import Path

import numpy as np
import pytest

from genai_tf.data import plays, text

REAL = Path(os.environ.get("GENAI_TF_DATA_DIR", "../shared/data")) / "shakespeare.txt"


def play(title, words, seed):
    """A play in the file's layout: title, byline, persons, acts and scenes, speeches."""
    rng = np.random.default_rng(seed)
    speeches = "\n\n".join(f"{rng.choice(['KING', 'QUEEN', 'FOOL'])}.\n" + " ".join(
        rng.choice(["thou", "art", "my", "lord", "good", "sweet", "night"], size=12)) for _ in range(words))
    return (f"{title}\n\nby William Shakespeare\n\n\n\n\nPERSONS REPRESENTED.\n\nKING.\n\n\n\nACT I.\n\n"
            f"SCENE 1. A room.\n\n[Enter KING.]\n\n{speeches}\n\n[Exeunt.]\n")


def poem(title, seed):
    rng = np.random.default_rng(seed)
    lines = "\n".join(" ".join(rng.choice(["love", "time", "fair", "doth"], size=8)) for _ in range(40))
    return f"{title}\n\nby William Shakespeare\n\n\n\n\nI\n\n{lines}\n"


@pytest.fixture
def works_text():
    """Twelve plays of different lengths and two poems, joined as in shakespeare.txt."""
    parts = [play(f"PLAY NUMBER {i}", 20 + 7 * i, i) for i in range(12)]
    parts.insert(3, poem("THE SONNETS", 50))
    parts.insert(9, poem("A LOVER'S COMPLAINT", 51))
    return "\n\n".join(parts)


def test_find_works_reads_titles_and_boundaries_from_the_structure(works_text):
    works = plays.find_works(works_text)
    assert len(works) == 14
    assert works[0].start == 0 and works[-1].end == len(works_text)
    assert all(a.end == b.start for a, b in zip(works[:-1], works[1:]))  # contiguous, covering the text
    for work in works:  # each work's text starts with its own title, then the byline
        assert works_text[work.start:work.end].startswith(f"{work.title}\n\nby William Shakespeare")
    assert [work.title for work in works if not work.is_play] == ["THE SONNETS", "A LOVER'S COMPLAINT"]
    assert plays.find_works("no byline here\n") == [] and not plays.has_plays("just text")


def test_held_out_plays_are_whole_disjoint_big_enough_and_minimal(works_text):
    works = plays.find_works(works_text)
    total = sum(work.length for work in works)
    length = {work.title: work.length for work in works}
    held = plays.choose_held_out(works, share=0.1)
    assert set(held["validation"]).isdisjoint(held["test"])
    for titles in held.values():
        assert titles and all(title.startswith("PLAY") for title in titles)  # poems are never held out
        size = sum(length[title] for title in titles)
        assert size >= 0.1 * total  # at least the share ...
        assert size - length[titles[-1]] < 0.1 * total  # ... and no play more than needed to reach it
    assert plays.choose_held_out(works, share=0.1) == held  # deterministic
    assert plays.choose_held_out(works, share=0.1, seed=1) != held  # the seed does choose


def test_load_splits_by_plays_and_no_window_straddles_two_works(works_text, tmp_path):
    path = tmp_path / "works.txt"
    path.write_text(works_text, encoding="utf-8")
    data = text.load(str(path), context=16, batch_size=4)
    assert data.split_by == "plays" and data.block is None and data.run_settings()["split_by"] == "plays"
    spans = sorted(span for split in text.SPLITS for span in data.bounds[split])
    assert spans[0][0] == 0 and spans[-1][1] == len(works_text)
    assert all(a[1] == b[0] for a, b in zip(spans[:-1], spans[1:]))  # every character in exactly one split
    named = plays.titles(works_text, data.bounds)
    assert sum(map(len, named.values())) == 14 and len(set(sum(named.values(), ()))) == 14  # no work twice
    assert {"THE SONNETS", "A LOVER'S COMPLAINT"} <= set(named["train"])
    starts = data.window_starts("train")
    ends = np.array([end for _, end in data.bounds["train"]])
    block_of = np.searchsorted(ends, starts, side="right")
    assert np.all(starts + data.context + 1 <= ends[block_of])  # every window inside one work
    other_seed = text.load(str(path), context=64, batch_size=4, seed=3)
    assert other_seed.bounds == data.bounds  # the held-out plays are fixed, whatever the seed and context
    blocks = text.load(str(path), context=16, split_by="blocks")
    assert blocks.split_by == "blocks" and blocks.block > 0 and "split_by" not in blocks.run_settings()
    with pytest.raises(ValueError, match="split_by='acts'"):
        text.load(str(path), split_by="acts")


def test_texts_without_plays_keep_the_block_split(tmp_path):
    data = text.load("pydoc_topics", context=32, limit=40_000)
    assert data.split_by == "blocks" and data.block == text.default_block(40_000, 32)
    path = tmp_path / "poem.txt"
    path.write_text(poem("THE SONNETS", 1) * 3, encoding="utf-8")
    with pytest.raises(ValueError, match="0 play"):
        text.load(str(path), context=8, split_by="plays")


@pytest.mark.skipif(not REAL.is_file(), reason="shakespeare.txt is not here (GENAI_TF_DATA_DIR)")
def test_the_course_split_of_shakespeare():
    corpus = REAL.read_text(encoding="utf-8")
    works = plays.find_works(corpus)
    assert len(works) == 36 and sum(work.is_play for work in works) == 31  # README: 36 plays and poems
    data = text.load("shakespeare", data_dir=REAL.parent, context=256)
    named = plays.titles(corpus, data.bounds)
    assert named["validation"] == ("AS YOU LIKE IT", "THE HISTORY OF KING HENRY THE SIXTH, THIRD PART")
    assert named["test"] == ("PERICLES PRINCE OF TYRE", "THE LIFE OF TIMON OF ATHENS")
    for split, low, high in (("validation", 0.05, 0.07), ("test", 0.05, 0.06)):
        assert low <= data.num_characters(split) / len(corpus) < high
    assert data.num_characters("train") + data.num_characters("validation") + data.num_characters("test") \
        == len(corpus)
