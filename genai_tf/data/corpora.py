"""Where the text kind's corpora come from: the bundled ``pydoc_topics``, local files and Shakespeare, checked.

:func:`load_text` returns ``(name, text)`` for a corpus name of :data:`CORPORA` or the path of a
local UTF-8 text file. Nothing falls back silently and nothing needs the network by default:

- ``pydoc_topics``: the help texts of the Python standard library's ``pydoc_data.topics`` (about
  465,000 characters), present on every Python and on Colab; smoke runs and CI use it, as ``digits``
  for images.
- a path (a ``str`` that is not a corpus name and looks like a path, or any ``os.PathLike``): the
  file, decoded as UTF-8 (a leading byte-order mark dropped, line endings turned into ``\\n`` as
  Python's text mode does).
- ``tiny_shakespeare``: ``<data_dir or $GENAI_TF_DATA_DIR>/tiny_shakespeare.txt`` when it exists,
  with no network; otherwise tensorflow-datasets' ``tiny_shakespeare`` (its train, validation and
  test texts joined in that order). Offline, a
  :class:`~genai_tf.data.shared.DatasetUnavailableError` at once.
- ``shakespeare``: ``<data_dir or $GENAI_TF_DATA_DIR>/shakespeare.txt`` (36 plays and poems,
  4.2 million characters; see ``../shared/data/README.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

from genai_tf.data import shared

CORPORA = ("pydoc_topics", "tiny_shakespeare", "shakespeare")
_TFDS_SPLITS = ("train", "validation", "test")  # joined in this order: the original text's order
BUNDLED = "'pydoc_topics' (bundled with Python, works offline), or pass the path of any UTF-8 text file"


def load_text(source: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> tuple[str, str]:
    """``(name, text)`` of a corpus of :data:`CORPORA` or of a local UTF-8 file.

    The name is the corpus name, or the file's name for a path. ``data_dir`` is the folder searched
    for ``tiny_shakespeare.txt`` and ``shakespeare.txt``; it defaults to ``$GENAI_TF_DATA_DIR``.

    Raises:
        ValueError: an unknown corpus name (the corpora are listed, a close one suggested), an
            empty file, or a file that is not UTF-8 (the byte offset is named).
        FileNotFoundError: a path to a file that does not exist.
        DatasetUnavailableError: ``tiny_shakespeare`` offline, or ``shakespeare.txt`` not found.
    """
    if isinstance(source, str) and source in CORPORA:
        if source == "pydoc_topics":
            return source, pydoc_topics()
        if source == "tiny_shakespeare":
            return source, _tiny_shakespeare(data_dir)
        return source, _shakespeare(data_dir)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source={source!r}: give a corpus name ({', '.join(CORPORA)}) or a file path.")
    if isinstance(source, str) and not _looks_like_path(source):
        raise ValueError(f"Unknown text corpus {source!r}: choose one of {CORPORA}, or give the path "
                         f"of a UTF-8 text file (e.g. ./my_text.txt).{shared.did_you_mean(source, CORPORA)}")
    path = Path(source).expanduser()
    return path.name, read_text_file(path)


def _looks_like_path(source: str) -> bool:
    return (os.path.exists(source) or "/" in source or os.sep in source or source.startswith("~")
            or Path(source).suffix != "")


def pydoc_topics() -> str:
    """The help texts of ``pydoc_data.topics``, in sorted-key order, separated by a blank line."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def read_text_file(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file; a clear error for a missing, empty or non-UTF-8 file."""
    path = Path(path).expanduser()
    if not path.is_file():
        where = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"Text file {str(path)!r} {where} (looked at {path.resolve()}). Give the path "
                                f"of a UTF-8 text file, or one of the corpora {CORPORA}.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is not text
    except UnicodeDecodeError as error:
        raise ValueError(
            f"Text file {str(path)!r} is not UTF-8: byte {raw[error.start]:#04x} at byte offset {error.start} "
            f"can't be decoded ({error.reason}). Re-encode the file as UTF-8, e.g. "
            f"`iconv -f latin1 -t utf-8 in.txt > out.txt`, or in Python "
            f"Path('out.txt').write_text(Path('in.txt').read_text(encoding='latin-1'), encoding='utf-8') "
            f"(replace latin-1 by the file's real encoding).") from error
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        raise ValueError(f"Text file {str(path)!r} is empty ({len(raw)} bytes, no characters); give a file with "
                         f"some text in it.")
    return text


def _shakespeare(data_dir) -> str:
    path = shared.local_file("shakespeare.txt", data_dir)
    if path is None or not path.is_file():
        raise shared.unavailable(
            "Corpus", "shakespeare", path, None, BUNDLED,
            "the 36 plays and poems of ../shared/data/shakespeare.txt, 4.2 million characters; "
            "here: ../shared/data from the project root")
    return read_text_file(path)


def _tiny_shakespeare(data_dir) -> str:
    path = shared.local_file("tiny_shakespeare.txt", data_dir)
    if path is not None and path.is_file():
        return read_text_file(path)

    def unavailable(why):
        return shared.unavailable("Corpus", "tiny_shakespeare", path, why, BUNDLED, "plain UTF-8 text")

    builder = shared.tfds_prepared("tiny_shakespeare", unavailable)
    try:
        import tensorflow_datasets as tfds

        parts = []
        for split in _TFDS_SPLITS:  # one example per split, holding one text
            for example in tfds.as_numpy(builder.as_dataset(split=split)):
                parts.append(example["text"].decode("utf-8"))
    except Exception as error:  # every tfds failure gets the course's message
        raise unavailable(f"tensorflow-datasets failed ({type(error).__name__}: {error})") from error
    text = "".join(parts)
    if not text:
        raise unavailable("tensorflow-datasets returned no text")
    return text


def available_offline(source: str, data_dir=None) -> tuple[bool, str]:
    """Whether corpus ``source`` loads without a network, and how (for ``genai-tf doctor``)."""
    if source == "pydoc_topics":
        return True, "bundled with Python (pydoc_data.topics)"
    if source not in CORPORA:
        load_text(source, data_dir)  # raises the unknown-name error; a readable file is offline
        return True, f"local file {source}"
    return shared.cached(source, data_dir, f"{source}.txt", tfds=source == "tiny_shakespeare")
