"""A training run's folder: its file names, atomic writes, loading what it holds, and the one
summary of a run (:class:`TrainingRun`) whichever way the run was obtained.

The folder, once training is done::

    DIR/model.keras      the trained model
    DIR/training.json    the settings and what the run took (:func:`run_summary`)
    DIR/logs/            TensorBoard (a resumed run goes on writing to the same run folder)
    DIR/resume/          only while a run is unfinished (:mod:`genai_tf.training.resume`)

Every file is written under a temporary name and then renamed, so a kill at any moment leaves
the last complete file in place.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

MODEL_FILE = "model.keras"
SUMMARY_FILE = "training.json"
RESUME_FOLDER = "resume"


class CheckpointError(ValueError):
    """A model file is missing, unreadable, or holds another family's model."""


def atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def atomic_save_model(model, path: Path) -> None:
    temporary = path.with_name("tmp-" + path.name)  # Keras wants the .keras suffix
    model.save(temporary)
    os.replace(temporary, path)


def load_model(path):
    """Load a course model from ``path`` (a ``.keras`` file, or a folder holding ``model.keras``).

    Raises :class:`CheckpointError` with one clear sentence when the file is missing or is not a
    readable Keras model (truncated by a kill, corrupted, or not a model at all).
    """
    import keras

    from genai_tf.models import registry

    path = Path(path)
    folder = path if path.suffix != ".keras" else path.parent
    path = path / MODEL_FILE if path.suffix != ".keras" else path
    if not path.exists():
        raise CheckpointError(f"No model at {path}. Train one first, e.g. "
                              f"`genai-tf train vae --output {folder}`.")
    registry.register_classes()  # every family's classes, for deserialisation
    try:
        return keras.models.load_model(path)
    except Exception as error:
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable Keras model ({type(error).__name__}: {detail}). "
                              f"It may be truncated or corrupt: delete it and train again.") from error


def read_summary(folder) -> dict:
    """The ``training.json`` of ``folder``, or ``{}`` when there is none (a bare model file)."""
    path = Path(folder) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def load_saved(folder, model_class, wanted, hint=""):
    """The model in ``folder`` and its summary, checked to be a ``model_class``; ``wanted`` names
    what was asked for and ``hint`` how to fix a wrong model, in the error."""
    folder = Path(folder)
    model = load_model(folder)
    if type(model) is not model_class:
        raise CheckpointError(f"{folder / MODEL_FILE} holds a {type(model).__name__}, not a "
                              f"{model_class.__name__} ({wanted}). Delete it{hint}.")
    return model, read_summary(folder)


def run_summary(settings, *, steps, epochs, wall_seconds, cpu_seconds, history, log_dir, counted=False) -> dict:
    """What ``training.json`` holds for a finished run."""
    summary = {"settings": settings, "complete": True, "steps": int(steps), "epochs": float(epochs),
               "wall_seconds": wall_seconds, "cpu_seconds": cpu_seconds, "history": history,
               "log_dir": None if log_dir is None else str(log_dir)}
    if counted:
        summary["counted"] = True
    return summary


def finish(output: Path, model, summary: dict) -> None:
    """Write the finished run into ``output``: the model, then its summary; drop resume files."""
    atomic_save_model(model, output / MODEL_FILE)
    atomic_write_text(output / SUMMARY_FILE, json.dumps(summary, indent=1))
    shutil.rmtree(output / RESUME_FOLDER, ignore_errors=True)


def clear(output: Path) -> None:
    """Delete a run's model, summary and resume files (``fresh=True``); logs stay."""
    for name in (RESUME_FOLDER, MODEL_FILE, SUMMARY_FILE):
        target = output / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)


@dataclasses.dataclass
class TrainingRun:
    """What a training run did. ``epoch_wall_seconds`` / ``epoch_cpu_seconds`` cover the epochs
    this call ran whole (not a resumed partial epoch, nor one a budget cut short)."""

    model: object
    family: str
    history: dict
    steps: int  # optimizer steps in the whole run, resumed ones included
    steps_per_epoch: int
    wall_seconds: float  # training time of the whole run
    cpu_seconds: float
    log_dir: Path | None
    output: Path | None
    resumed_at: int | None  # the step this call resumed at; None for a fresh run
    already_complete: bool  # loaded from disk: nothing was trained by this call
    epoch_wall_seconds: list
    epoch_cpu_seconds: list

    @property
    def epochs(self) -> float:
        """Passes over the training data, a partial last one counted as a fraction."""
        return self.steps / self.steps_per_epoch

    @classmethod
    def from_summary(cls, model, family: str, summary: dict, steps_per_epoch: int, output=None, *,
                     already_complete=True, resumed_at=None, epoch_wall_seconds=(), epoch_cpu_seconds=()):
        """The one constructor: a run from its :func:`run_summary` (``{}`` for a bare model file)."""
        log_dir = summary.get("log_dir")
        return cls(model=model, family=family, history=summary.get("history", {}),
                   steps=int(summary.get("steps", 0)), steps_per_epoch=int(steps_per_epoch),
                   wall_seconds=summary.get("wall_seconds", 0.0), cpu_seconds=summary.get("cpu_seconds", 0.0),
                   log_dir=None if log_dir is None else Path(log_dir),
                   output=None if output is None else Path(output), resumed_at=resumed_at,
                   already_complete=already_complete, epoch_wall_seconds=list(epoch_wall_seconds),
                   epoch_cpu_seconds=list(epoch_cpu_seconds))
