"""Pretrained checkpoints: "load it if it exists, else train it" for slow machines.

A checkpoint is the folder ``genai-tf train FAMILY --output <root>/<name>`` writes
(``model.keras``, ``training.json``, ``logs/``; see :mod:`genai_tf.training`), so an instructor
can pre-train before a class and learners' notebooks pick the models up. ``root`` is
``$GENAI_TF_CHECKPOINT_DIR``, else ``checkpoints/`` at the project root (next to ``runs/``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from genai_tf import config


class CheckpointError(ValueError):
    """A model file is missing, unreadable, or holds another family's model."""


def checkpoint_path(name: str, root=None) -> Path:
    """Where the checkpoint called ``name`` lives: ``<root>/<name>/model.keras``."""
    return Path(root if root is not None else config.checkpoint_root()) / name / "model.keras"


def load_model(path):
    """Load a course model from ``path`` (a ``.keras`` file, or a folder holding ``model.keras``).

    Raises :class:`CheckpointError` with one clear sentence when the file is missing or is not a
    readable Keras model (truncated by a kill, corrupted, or not a model at all).
    """
    import keras

    from genai_tf.models import registry

    path = Path(path)
    path = path / "model.keras" if path.is_dir() else path
    if not path.exists():
        raise CheckpointError(f"No model at {path}. Train one first, e.g. "
                              f"`genai-tf train vae --output {path.parent}`.")
    registry.register_classes()  # every family's classes, for deserialisation
    try:
        return keras.models.load_model(path)
    except Exception as error:
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable Keras model ({type(error).__name__}: {detail}). "
                              f"It may be truncated or corrupt: delete it and train again.") from error


def _load_saved(folder, model_class, wanted):
    """The model in ``folder`` and its ``training.json`` summary ({} if absent), checked to be a
    ``model_class``; ``wanted`` names what was asked for in the error."""
    from genai_tf import training

    folder = Path(folder)
    model = load_model(folder)
    if type(model) is not model_class:
        raise CheckpointError(
            f"Checkpoint {folder / training.MODEL_FILE} holds a {type(model).__name__}, not a "
            f"{model_class.__name__} ({wanted}). Delete it, or point {config.CHECKPOINT_ENV} to a "
            f"folder with the right checkpoints.")
    summary_path = folder / training.SUMMARY_FILE
    return model, (json.loads(summary_path.read_text()) if summary_path.exists() else {})


def load_or_train(name, family, dataset, root=None, verbose=True, **train_kwargs):
    """Checkpoint ``name`` if ``<root>/<name>/model.keras`` exists; else train ``family`` there.

    Training goes through :func:`genai_tf.training.train` with ``output=<root>/<name>`` and
    ``train_kwargs`` (``epochs``, ``seconds``, ``clock``, ``log``, ...), so an interrupted
    training resumes on the next call. A model found on disk is used whatever settings made it
    (an instructor's longer pre-training, say), but it must be of ``family``'s class.

    Returns the :class:`genai_tf.training.TrainingRun`; ``run.already_complete`` is True when
    the model came from disk.
    """
    from genai_tf import training
    from genai_tf.models import registry

    chosen = registry.family(family) if isinstance(family, str) else family
    folder = checkpoint_path(name, root).parent
    if (folder / training.MODEL_FILE).exists():
        model, summary = _load_saved(folder, chosen.model_class, chosen.name)
        if verbose:
            print(f"loaded {name} from {folder / training.MODEL_FILE}")
        return training.TrainingRun(
            model=model, family=chosen.name, history=summary.get("history", {}), steps=summary.get("steps", 0),
            steps_per_epoch=dataset.steps_per_epoch, wall_seconds=summary.get("wall_seconds", 0.0),
            cpu_seconds=summary.get("cpu_seconds", 0.0), log_dir=None, output=folder, resumed_at=None,
            already_complete=True, epoch_wall_seconds=[], epoch_cpu_seconds=[])
    run = training.train(chosen, dataset, output=folder, **train_kwargs)
    if verbose:
        how = f"resumed at step {run.resumed_at} and " if run.resumed_at is not None else ""
        print(f"{how}trained {name} ({run.steps} steps) and saved it to {folder / training.MODEL_FILE}")
    return run


@dataclasses.dataclass
class Fitted:
    """What :func:`fit_or_load` did: the model to use, its per-epoch ``history`` (Keras's
    ``History.history`` layout: metric name -> list), and the seconds its training took."""

    model: object
    history: dict
    loaded_from: Path | None  # the checkpoint folder, or None when the model was trained here
    steps: int  # training batches (optimizer steps of each network)
    wall_seconds: float
    cpu_seconds: float

    @property
    def loaded(self) -> bool:
        return self.loaded_from is not None


def fit_or_load(model, name, *, load=False, root=None, **fit_kwargs) -> Fitted:
    """``model.fit(**fit_kwargs)``, or, with ``load=True`` and a checkpoint ``<root>/<name>/`` present
    (what ``genai-tf pretrain`` / ``genai-tf train --output`` write), that checkpoint's model instead.

    For notebooks that build and train their own model: ``load`` is their config's choice (default
    train), ``name`` is ``"<dataset>/<family>"``, the layout :func:`load_or_train` and ``pretrain``
    use. A checkpoint must hold a model of ``model``'s class; its recipe (widths, budget) is the
    pre-training's, not the notebook's, so use the returned ``Fitted.model`` from then on. With
    ``load=True`` and no checkpoint, the model is trained as usual (and nothing is written).
    ``fit_kwargs`` go to ``fit`` as they are (``x=``, ``epochs=``, ``callbacks=``, ``verbose=``).
    """
    import time

    folder = checkpoint_path(name, root).parent
    if load and (folder / "model.keras").exists():
        loaded, summary = _load_saved(folder, type(model), name)
        print(f"loaded {name} from {folder} (trained {summary.get('steps', '?')} steps, "
              f"{summary.get('cpu_seconds', 0.0):.0f} s CPU) instead of training")
        return Fitted(model=loaded, history=summary.get("history", {}), loaded_from=folder,
                      steps=int(summary.get("steps", 0)), wall_seconds=summary.get("wall_seconds", 0.0), cpu_seconds=summary.get("cpu_seconds", 0.0))
    if load:
        print(f"no checkpoint at {folder} (make one with `genai-tf pretrain --families "
              f"{Path(name).name}`): training here")
    import keras

    class CountSteps(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

    counter = CountSteps()
    fit_kwargs["callbacks"] = [*(fit_kwargs.get("callbacks") or []), counter]
    wall, cpu = time.perf_counter(), time.process_time()
    history = model.fit(**fit_kwargs)
    return Fitted(model=model, history=history.history, loaded_from=None, steps=counter.steps,
                  wall_seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
