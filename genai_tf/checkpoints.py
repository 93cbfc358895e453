"""Pretrained checkpoints: "load it if it exists, else train it" for slow machines.

A checkpoint is ``<root>/<name>/model.keras``, the layout ``genai-tf train FAMILY --output
<root>/<name>`` writes, so an instructor can pre-train before a class and learners' notebooks
pick the models up. ``root`` is ``$GENAI_TF_CHECKPOINT_DIR``, else ``checkpoints/`` at the
project root (next to ``runs/``).
"""

from __future__ import annotations

from pathlib import Path

import keras

from genai_tf import config

CHECKPOINT_ENV = "GENAI_TF_CHECKPOINT_DIR"


def checkpoint_root() -> Path:
    """``$GENAI_TF_CHECKPOINT_DIR``, else ``checkpoints/`` at the project root (or the cwd)."""
    return config.project_folder("checkpoints", CHECKPOINT_ENV)


def checkpoint_path(name: str, root=None) -> Path:
    """Where the checkpoint called ``name`` lives: ``<root>/<name>/model.keras``."""
    return Path(root if root is not None else checkpoint_root()) / name / "model.keras"


def load_or_train(name: str, build, train, root=None, expected_class=None, verbose=True):
    """Load checkpoint ``name`` if it exists; otherwise ``model = build()``, ``train(model)``,
    and save it there. Returns ``(model, loaded)`` with ``loaded`` True when it came from disk.

    ``expected_class`` guards against a checkpoint of another family under the same name.
    """
    # Importing the model modules registers their classes for deserialisation.
    from genai_tf.models import autoencoder, cvae, gan, vae, vaegan  # noqa: F401

    path = checkpoint_path(name, root)
    if path.exists():
        model = keras.models.load_model(path)
        if expected_class is not None and not isinstance(model, expected_class):
            raise TypeError(
                f"Checkpoint {path} holds a {type(model).__name__}, not a {expected_class.__name__}. "
                f"Delete it, or point {CHECKPOINT_ENV} to a folder with the right checkpoints."
            )
        if verbose:
            print(f"loaded {name} from {path}")
        return model, True
    model = build()
    train(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    if verbose:
        print(f"trained {name} and saved it to {path}")
    return model, False
