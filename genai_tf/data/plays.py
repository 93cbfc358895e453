"""Whole works as the unit of a split: find the plays in a collected-works text and hold some out.

A character model scored on blocks cut at random from the same plays it trained on is scored on
lines whose speakers, names and phrases it has already seen: a leaky split. Holding out whole
plays asks the honest question: how well does it predict a play it has never read?

:func:`find_works` reads the structure of a collected-works file such as ``shakespeare.txt``
(see ``../shared/data/README.md``): every work opens with its title line, then a line
``by William Shakespeare`` (a byline); a work runs from its title to the next work's title. A work
is a **play** when it has act or scene headings (``ACT I.``, ``Scene II.``, ...); the poems
(the Sonnets, Lucrece, ...) have none.

:func:`choose_held_out` deals whole plays, never poems, to validation and to test: the plays in a
permutation seeded by :data:`PLAY_SEED` (fixed: every run, whatever its data seed, is scored on
the same plays), each split taking plays in that order until it holds at least
:data:`HELD_OUT_SHARE` of the characters. Train keeps every other work.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

BYLINE = "by William Shakespeare"
HELD_OUT_SHARE = 0.05  # each of validation and test: at least this share of the characters
PLAY_SEED = 0  # the permutation of the plays that validation and then test take from
MIN_PLAYS = 3  # a text is split by plays only if it has a play for each split
_BYLINE = re.compile(rf"^{BYLINE}[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^(ACT|Act|SCENE|Scene)[ .]+([IVX]+|\d+)\b", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Work:
    """One work of a collected-works text: ``text[start:end]``, titled ``title``."""

    title: str
    start: int
    end: int
    is_play: bool

    @property
    def length(self) -> int:
        return self.end - self.start


def find_works(text: str) -> list[Work]:
    """The works of ``text`` in text order, covering it: each starts at its title line (the last
    non-blank line before a byline) and ends where the next starts; the first starts at 0. No
    byline: ``[]``."""
    starts, titles = [], []
    for byline in _BYLINE.finditer(text):
        before = text[:byline.start()].rstrip("\n")
        title_start = before.rfind("\n") + 1
        title = before[title_start:].strip()
        if not title:  # a byline with nothing above it names no work
            continue
        starts.append(title_start)
        titles.append(title)
    if not starts:
        return []
    starts[0] = 0
    ends = [*starts[1:], len(text)]
    return [Work(title, start, end, bool(_HEADING.search(text, start, end)))
            for title, start, end in zip(titles, starts, ends, strict=True)]


def choose_held_out(works: list[Work], share: float = HELD_OUT_SHARE, seed: int = PLAY_SEED) -> dict:
    """``{"validation": titles, "test": titles}``: whole plays, dealt in a ``seed``-ed permutation,
    each split taking plays until it holds at least ``share`` of all the works' characters.

    Raises:
        ValueError: fewer than :data:`MIN_PLAYS` plays, or not enough play text for both splits.
    """
    plays = [work for work in works if work.is_play]
    if len(plays) < MIN_PLAYS:
        raise ValueError(f"{len(plays)} play(s) found; a split by plays needs at least {MIN_PLAYS} "
                         f"(one each for train, validation and test).")
    total = sum(work.length for work in works)
    order = [plays[int(i)] for i in np.random.default_rng(seed).permutation(len(plays))]
    held, taken = {}, 0
    for split in ("validation", "test"):
        chosen, characters = [], 0
        while characters < share * total and taken < len(order) - 1:  # train keeps at least one play
            chosen.append(order[taken].title)
            characters += order[taken].length
            taken += 1
        if not chosen:
            raise ValueError(f"Too little play text to hold out {share:.0%} for validation and test.")
        held[split] = tuple(chosen)
    return held


def split_by_plays(text: str, share: float = HELD_OUT_SHARE, seed: int = PLAY_SEED) -> dict:
    """``{split: ((start, end), ...)}`` in text order: the held-out plays of :func:`choose_held_out`
    in validation and test, one bound per play; every other work in train, one bound per work."""
    works = find_works(text)
    held = choose_held_out(works, share, seed)
    where = {title: split for split, titles in held.items() for title in titles}
    return {split: tuple((work.start, work.end) for work in works if where.get(work.title, "train") == split)
            for split in ("train", "validation", "test")}


def has_plays(text: str) -> bool:
    """Whether ``text`` holds at least :data:`MIN_PLAYS` plays (:func:`find_works`)."""
    return sum(work.is_play for work in find_works(text)) >= MIN_PLAYS


def titles(text: str, bounds: dict) -> dict:
    """``{split: (title, ...)}``: the works whose bounds ``bounds[split]`` holds."""
    by_start = {work.start: work.title for work in find_works(text)}
    return {split: tuple(by_start.get(start, "?") for start, _ in spans) for split, spans in bounds.items()}
