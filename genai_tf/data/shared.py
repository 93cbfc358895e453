"""What every kind of data needs: argument checks, "did you mean" names, seeded splits, the
stateless step -> batch stream, and the offline-first source lookup with its one error message.

The kind modules (:mod:`~genai_tf.data.images`, :mod:`~genai_tf.data.text`) build on these, so
a new kind writes none of it again. A source is looked up offline first: a local file in
``data_dir`` (default ``$GENAI_TF_DATA_DIR``), then a tensorflow-datasets cache; only then the
network, and never silently (offline, :func:`unavailable` raises at once, naming both fixes).
"""

from __future__ import annotations

import difflib
import numbers
import os
import socket
import threading
from pathlib import Path

from genai_tf import config
from genai_tf.config import DATA_DIR_ENV

SPLITS = ("train", "validation", "test")


class DatasetUnavailableError(RuntimeError):
    """A dataset can't be had: no local file, no tfds cache, and no way to download it."""


# --- argument checks and names -----------------------------------------------------------------
def is_whole(value, minimum: int = 0) -> bool:
    """Whether ``value`` is an int (not a bool) >= ``minimum``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


def check_arguments(checks) -> None:
    """``checks``: ``(argument, value, ok, allowed)`` rows; a ValueError for the first that is not ok."""
    for argument, value, ok, allowed in checks:
        if not ok:
            raise ValueError(f"{argument}={value!r} is not allowed: {argument} must be {allowed}.")


def did_you_mean(name, choices) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {SPLITS}.")
    return split


# --- seeded splits and the stateless stream -------------------------------------------------------
def split_counts(count: int, fraction: float) -> int:
    """How many of ``count`` examples a ``fraction`` holds out: rounded, at least 1, leaving at least 1."""
    return min(max(round(fraction * count), 1), count - 1)


def step_stream(batch_at, start_step: int = 0):
    """An endless ``tf.data`` of ``batch_at(step)`` for step ``start_step``, ``start_step + 1``, ...

    ``batch_at`` maps an int64 step tensor to a batch, as a function of the step (and the data's
    seed) alone: nothing depends on how often the stream was iterated, so a run resumed at step
    ``k`` sees exactly the batches an unbroken run sees from there.
    """
    import tensorflow as tf

    if not is_whole(start_step, 0):
        raise ValueError(f"start_step={start_step!r}; it must be an int >= 0.")
    return (tf.data.Dataset.range(int(start_step), 2**62)
            .map(batch_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))


# --- offline-first sources -----------------------------------------------------------------------
def local_file(filename: str, data_dir=None) -> Path | None:
    """``<data_dir or $GENAI_TF_DATA_DIR>/<filename>``, or None when neither names a folder."""
    folder = config.data_dir(data_dir)
    return Path(os.path.expanduser(str(folder))) / filename if folder else None


def unavailable(what: str, name: str, path, why: str | None, bundled: str, layout: str) -> DatasetUnavailableError:
    """The one message for a source that can't be had: what is missing, why, and both fixes.

    ``what`` ("Dataset", "Corpus"), ``path`` the local file looked for (None: no folder set),
    ``why`` what else failed (or None), ``bundled`` the offline alternative, ``layout`` the file's
    expected contents.
    """
    where = f"no file {path}" if path is not None else f"{DATA_DIR_ENV} is not set (and no data_dir was given)"
    filename = Path(path).name if path is not None else None
    because = f" and {why}" if why else ""
    put = f"put {filename} ({layout}) in a folder and set {DATA_DIR_ENV} to it" if filename else (
        f"set {DATA_DIR_ENV} to a folder holding the file ({layout})")
    return DatasetUnavailableError(f"{what} {name!r} is not available: {where}{because}. Fix: use {bundled}, or "
                                   f"{put}.")


def network_available(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to storage.googleapis.com:443 opens within ``timeout`` seconds.

    The probe runs in a daemon thread, so a slow DNS lookup can't make it take longer.
    """
    result = []

    def probe():
        try:
            socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def tfds_builder(name: str):
    import tensorflow_datasets as tfds  # imported here: it is slow to import

    return tfds.builder(name)


def prepared(builder) -> bool:
    """Whether tfds has this dataset on disk already (so nothing needs downloading)."""
    import tensorflow as tf

    return tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json"))


def tfds_prepared(name: str, unavailable_error) -> object:
    """The tfds builder of ``name``, downloaded if needed; offline, ``unavailable_error(why)`` at once.

    Any tfds failure becomes ``unavailable_error`` too (tfds itself would retry for minutes).
    Looked up through this module's globals, so tests can monkeypatch ``network_available`` and
    ``prepared``.
    """
    try:
        builder = tfds_builder(name)
        if not prepared(builder):
            if not network_available():
                raise unavailable_error("the network is unreachable, so tensorflow-datasets cannot download it")
            builder.download_and_prepare()
        return builder
    except DatasetUnavailableError:
        raise
    except Exception as error:  # every tfds failure gets the course's message
        raise unavailable_error(f"tensorflow-datasets failed ({type(error).__name__}: {error})") from error


def cached(name: str, data_dir=None, filename: str | None = None, tfds: bool = True) -> tuple[bool, str]:
    """``available_offline``'s answer for a source with a local file (or, with ``tfds``, a tfds cache)."""
    path = local_file(filename or name, data_dir)
    if path is not None and path.is_file():
        return True, f"local file {path}"
    if not tfds:
        return False, f"not found: set {DATA_DIR_ENV} to a folder with {filename or name}"
    try:
        builder = tfds_builder(name)
        if prepared(builder):
            return True, f"tfds cache at {builder.data_dir}"
    except Exception:  # any tfds trouble just means "not cached"
        pass
    return False, f"not found: set {DATA_DIR_ENV} to a folder with {filename or name}"
