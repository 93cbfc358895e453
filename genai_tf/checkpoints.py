"""Pretrained checkpoints: "load it if it exists, else train it" for slow machines.

A checkpoint is the folder ``genai-tf train FAMILY --output <root>/<name>`` writes
(``model.keras``, ``training.json``, ``logs/``; see :mod:`genai_tf.training.run_folder`), so an instructor
can pre-train before a class and learners' notebooks pick the models up. ``root`` is
``$GENAI_TF_CHECKPOINT_DIR``, else ``checkpoints/`` at the project root (next to ``runs/``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from genai_tf import config

_WRONG_MODEL_HINT = f", or point {config.CHECKPOINT_ENV} to a folder with the right checkpoints"


def checkpoint_path(name: str, root=None) -> Path:
    """Where the checkpoint called ``name`` lives: ``<root>/<name>/model.keras``."""
    return Path(root if root is not None else config.checkpoint_root()) / name / "model.keras"


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
    from genai_tf.training import run_folder

    chosen = registry.family(family) if isinstance(family, str) else family
    folder = checkpoint_path(name, root).parent
    if (folder / run_folder.MODEL_FILE).exists():
        model, summary = run_folder.load_saved(folder, chosen.model_class, chosen.name, _WRONG_MODEL_HINT)
        if verbose:
            print(f"loaded {name} from {folder / run_folder.MODEL_FILE}")
        return run_folder.TrainingRun.from_summary(model, chosen.name, summary, dataset.steps_per_epoch, folder)
    run = training.train(chosen, dataset, output=folder, **train_kwargs)
    if verbose:
        how = f"resumed at step {run.resumed_at} and " if run.resumed_at is not None else ""
        print(f"{how}trained {name} ({run.steps} steps) and saved it to {folder / run_folder.MODEL_FILE}")
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

    from genai_tf.training import run_folder

    folder = checkpoint_path(name, root).parent
    if load and (folder / run_folder.MODEL_FILE).exists():
        loaded, summary = run_folder.load_saved(folder, type(model), name, _WRONG_MODEL_HINT)
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
