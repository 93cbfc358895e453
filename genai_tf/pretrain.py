"""``genai-tf pretrain``: the course's pretrained checkpoints, made the way the benchmarks make them.

Each family with a ``pretrain_budget`` in the registry is trained with its registered recipe for
that budget through :func:`genai_tf.training.train`, into ``<output>/<family>/`` (``model.keras``,
``training.json``, ``resume/``): the layout ``genai-tf train`` writes and
``checkpoints.load_or_train`` (so every notebook that trains for long) reads. A killed run
resumes; a finished one with the same settings (a benchmark's, say) is picked up, not retrained.
Then the model is scored and ``manifest.json`` written beside it::

    {"family", "recipe", "batch_size", "budget", "trained": {steps, epochs, cpu_seconds, ...},
     "dataset", "date", "versions", "metrics": {...}, "sha256": {"model.keras": ...}}

The metrics are those the family is judged by: for image generators cFID (with its real-vs-real
floor), KID, precision, recall and the largest class share on ``num_samples`` samples; for a
conditional one also the share read as the requested digit; for an autoencoder the test MSE.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

MANIFEST_FILE = "manifest.json"


def pretrainable() -> tuple[str, ...]:
    """The registered families that have a pretrain budget, in registry order."""
    from genai_tf.models import registry

    return tuple(name for name in registry.names() if registry.family(name).pretrain_budget is not None)


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def judged_metrics(family, model, dataset, classifier, num_samples, seed=0) -> dict:
    """The numbers ``family`` is judged by (module docstring), on ``dataset``'s test images."""
    import numpy as np

    from genai_tf import sample_quality

    test_images = dataset.images("test")
    if not family.generates:
        reconstructions = np.concatenate([np.asarray(model(test_images[i:i + 500], training=False))
                                          for i in range(0, len(test_images), 500)])
        return {"test_mse": float(np.mean((reconstructions - test_images) ** 2))}
    requested = np.arange(num_samples) % model.num_classes if family.conditional else None  # each class equally
    samples = sample_quality.draw_samples(model, num_samples, seed=seed, chunk=1000, labels=requested)
    scores = sample_quality.evaluate_samples(samples, test_images, classifier, seed=seed)
    metrics = {key: float(scores[key]) for key in ("cfid", "cfid_floor", "kid_mean", "precision", "recall",
                                                   "max_class_ratio")}
    metrics["num_samples"] = int(num_samples)
    if requested is not None:
        metrics["requested_accuracy"] = float(np.mean(classifier.predict(samples) == requested))
    return metrics


def pretrain_family(name, dataset_name="mnist", output=None, data_dir=None, seed=0, steps=None,
                    num_samples=2000, classifier=None, verbose=True) -> dict:
    """Train (or pick up) ``name`` into ``<output>/<name>`` and write its manifest; return it.

    ``steps`` replaces the family's budget by a fixed number of steps (a quick check, and what
    the tests run); the manifest says which. ``output`` defaults to ``checkpoints/<dataset>``.
    """
    import keras
    import tensorflow as tf

    import genai_tf
    from genai_tf import config, data, feature_classifier, training
    from genai_tf.models import registry

    family = registry.family(name)
    sources = data.kind(family.data).SOURCES
    if dataset_name not in sources:
        raise ValueError(f"{name} is a {family.data} family and {dataset_name!r} is not one of its sources "
                         f"({', '.join(sources)}); pretrain makes the checkpoints of {', '.join(pretrainable())}. "
                         f"Train {name} with `genai-tf train {name}`.")
    if family.pretrain_budget is None and steps is None:
        raise ValueError(f"{name} has no pretrain budget in the registry; pass steps=, or pick one of "
                         f"{', '.join(pretrainable())}.")
    budget = {"steps": int(steps)} if steps is not None else dict(family.pretrain_budget)
    root = Path(output) if output is not None else config.checkpoint_root() / dataset_name
    folder = root / name
    dataset = training.family_dataset(family, dataset_name, seed=seed, data_dir=data_dir)
    if verbose:
        print(f"== {name}: {family.description}; budget {budget}; into {folder}", flush=True)
    run = training.train(family, dataset, seed=seed, output=folder, log=None, validation=False,
                         verbose=2 if verbose else 0, **budget)
    if classifier is None and family.generates:
        classifier = feature_classifier.load_classifier(dataset_name, dataset.image_shape, data_dir=data_dir,
                                                        verbose=0)
    manifest = {
        "family": name,
        "recipe": family.description,
        "batch_size": dataset.batch_size,
        "budget": budget,
        "trained": {"steps": run.steps, "epochs": round(run.epochs, 3), "cpu_seconds": round(run.cpu_seconds, 1),
                    "wall_seconds": round(run.wall_seconds, 1), "picked_up_finished_run": run.already_complete},
        "dataset": {"name": dataset_name, "image_shape": list(dataset.image_shape),
                    "train_images": int(len(dataset.images("train")))},
        "seed": seed,
        "date": datetime.date.today().isoformat(),
        "versions": {"genai_tf": genai_tf.__version__, "tensorflow": tf.__version__, "keras": keras.__version__},
        "metrics": judged_metrics(family, run.model, dataset, classifier, num_samples, seed=seed),
        "sha256": {training.MODEL_FILE: sha256(folder / training.MODEL_FILE)},
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    if verbose:
        print(f"   {run.steps} steps ({run.epochs:.2f} epochs, {run.cpu_seconds:.0f} CPU-s); "
              f"metrics {manifest['metrics']}; manifest {folder / MANIFEST_FILE}", flush=True)
    return manifest


def verify(folder) -> dict:
    """The manifest of ``folder`` after checking its model file's sha256 against it (ValueError if not)."""
    from genai_tf import training

    folder = Path(folder)
    path = folder / MANIFEST_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: make it with `genai-tf pretrain --families {folder.name}`.")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    actual = sha256(folder / training.MODEL_FILE)
    if actual != manifest["sha256"][training.MODEL_FILE]:
        raise ValueError(f"{folder / training.MODEL_FILE} does not match its manifest (sha256 {actual[:12]}… vs "
                         f"{manifest['sha256'][training.MODEL_FILE][:12]}…): it was changed or damaged; "
                         f"run `genai-tf pretrain --families {folder.name}` again.")
    return manifest
