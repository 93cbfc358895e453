"""Data of every kind, one module per kind, all offering the same small surface.

The table :data:`KINDS` names each kind's module; :func:`kind` imports it when first asked for, so
importing this package imports no TensorFlow (``genai-tf --help`` lists sources without it). A
model family names the kind it trains on (``Family.data``), and training, the command line,
``pretrain`` and ``doctor`` ask that module instead of branching on the kind.

Every kind module offers the names of :data:`SURFACE` (``tests/test_data_kinds.py`` checks it):

- ``SOURCES``: its named sources; ``DEFAULT``: the bundled one that works offline (smoke runs and
  CI); ``TRAIN_DEFAULT``: what ``genai-tf train`` uses when no source is given;
- ``load(source, *, seed=0, limit=None, data_dir=None, batch_size=..., **kind options)``: the
  dataset, whose ``spec`` is what a model is built from (image shape, ``TextSpec``...),
  ``run_settings()`` what identifies a run for resume, ``train_stream(start_step)`` the training
  batches by step, ``validation``/``test``/``split(name)`` the other splits, ``steps_per_epoch``,
  ``preview()`` a sample of the validation data for TensorBoard, ``describe()`` a one-line
  summary and ``validation_report(model)`` a trained model's one-line validation score;
- ``available_offline(source, data_dir=None) -> (bool, how)`` for ``doctor``;
- ``save_samples(samples, path)``: how generated samples are written to disk;
- ``tensorboard_callbacks(family, log_dir, dataset)``: how they are shown in TensorBoard.

What every kind shares (splits, argument checks, "did you mean", the stateless step -> batch
stream, the offline-first source lookup and its error) is :mod:`genai_tf.data.shared`. A new
kind is its module plus one line in :data:`KINDS`; the tests walk the table.
"""

from __future__ import annotations

import importlib

# kind name -> the module that loads it (what a Family's ``data`` names)
KINDS: dict[str, str] = {
    "images": "genai_tf.data.images",
    "text": "genai_tf.data.text",
}

# The names every kind module offers (module level), and every dataset its load returns.
SURFACE = ("SOURCES", "DEFAULT", "TRAIN_DEFAULT", "load", "available_offline", "save_samples",
           "tensorboard_callbacks")
DATASET_SURFACE = ("spec", "run_settings", "train_stream", "validation", "test", "split", "steps_per_epoch",
                   "preview", "describe", "validation_report", "batch_size", "name")


def check_kind(name: str) -> str:
    """``name`` if it is a kind of :data:`KINDS`, else a ValueError listing them."""
    if name not in KINDS:
        from genai_tf.data.shared import did_you_mean

        raise ValueError(f"Unknown kind of data {name!r}; choose one of {sorted(KINDS)}.{did_you_mean(name, KINDS)}")
    return name


def kind(name: str):
    """The module of kind ``name`` (imported now: it may import TensorFlow)."""
    return importlib.import_module(KINDS[check_kind(name)])


def kind_of(dataset) -> str | None:
    """The kind whose module made ``dataset`` (what its ``load`` returns), or None."""
    module = type(dataset).__module__
    return next((name for name, where in KINDS.items() if where == module), None)
