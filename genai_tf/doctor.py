"""The set-up check behind ``genai-tf doctor`` and notebook 00: versions, devices, data, training.

Two functions do the work, so the command line and the notebook report the same facts:

- :func:`environment_report` returns a dict of versions, devices, whether a GPU is
  visible, the profile, and which datasets load without a network;
- :func:`training_smoke_test` trains the course's small conv VAE on the bundled ``digits``
  for a few seconds and says whether its validation loss went down.

:func:`format_report` and :func:`format_training` turn them into the lines ``genai-tf
doctor`` prints.
"""

from __future__ import annotations

import platform
import time

# The oldest releases the course supports: pyproject.toml's floors (tests/test_packaging.py checks).
MINIMUM_VERSIONS = {"python": "3.10", "tensorflow": "2.20", "keras": "3.10"}


def _major_minor(version: str) -> tuple[int, int]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (2 - len(parts)))


def version_problems(report: dict) -> list[str]:
    """The packages in ``report`` older than :data:`MINIMUM_VERSIONS`, as readable lines."""
    return [f"{name} {report[name]} is older than the required {minimum}"
            for name, minimum in MINIMUM_VERSIONS.items()
            if _major_minor(report[name]) < _major_minor(minimum)]


def environment_report() -> dict:
    """Versions, devices, the active profile and the datasets available offline.

    Returns a dict with the keys ``genai_tf``, ``python``, ``tensorflow``, ``keras``,
    ``tensorflow_datasets``, ``numpy`` (version strings), ``profile``, ``devices`` (a list
    like ``["CPU:0", "GPU:0"]``), ``gpu`` (True when TensorFlow sees a GPU), ``datasets``
    (``{kind: {source: (available_offline, how)}}`` for every named source of every kind of
    ``genai_tf.data.KINDS``) and ``problems`` (a list of versions that are too old; empty when
    all is well).
    """
    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_datasets as tfds

    import genai_tf
    from genai_tf import config, data

    devices = tf.config.list_physical_devices()
    report = {
        "genai_tf": genai_tf.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow_datasets": tfds.__version__,
        "numpy": np.__version__,
        "profile": config.get_profile(),
        "devices": [f"{d.device_type}:{d.name.split(':')[-1]}" for d in devices],
        "gpu": any(d.device_type == "GPU" for d in devices),
        "datasets": {name: {source: data.kind(name).available_offline(source) for source in data.kind(name).SOURCES}
                     for name in data.KINDS},
    }
    report["problems"] = version_problems(report)
    return report


def format_report(report: dict) -> str:
    """The lines ``genai-tf doctor`` prints for an :func:`environment_report`."""
    lines = [f"{name:<10} {report[key]}" for name, key in (
        ("genai_tf", "genai_tf"), ("python", "python"), ("tensorflow", "tensorflow"),
        ("keras", "keras"), ("tfds", "tensorflow_datasets"), ("numpy", "numpy"),
        ("profile", "profile"))]
    lines.append("devices    " + ", ".join(report["devices"]))
    lines.append("gpu        " + ("yes" if report["gpu"] else "no (CPU only: use the smoke "
                                  "profile or pretrained checkpoints in class)"))
    for kind, sources in report["datasets"].items():
        lines.append(f"{kind} available offline:")
        for name, (ok, how) in sources.items():
            lines.append(f"  [{'x' if ok else ' '}] {name:<16} {how}")
    lines.extend(f"problem: {problem}" for problem in report["problems"])
    return "\n".join(lines)


def training_smoke_test(seconds: float = 5.0, max_epochs: int = 20, seed: int = 0) -> dict:
    """Train the conv VAE of ``genai-tf train vae`` on ``digits`` for about ``seconds``.

    Training stops after ``seconds`` of wall time or ``max_epochs`` epochs. Returns
    ``{"epochs", "seconds", "first_loss", "last_loss", "ok"}``: the validation loss (nats)
    before and after, and ``ok`` = it is finite and went down.
    """
    import numpy as np

    from genai_tf import training
    from genai_tf.data import images

    start = time.perf_counter()
    digits = images.load("digits", batch_size=64, binarize="dynamic", seed=seed)
    run = training.train("vae", digits, epochs=max_epochs, seconds=seconds, seed=seed, latent_dim=8, log=None)
    # fit's first validation comes after one epoch; the untrained loss is the one before it
    losses = run.history["val_loss"]
    first = float(training_baseline_loss(digits, seed))
    last = float(losses[-1])
    return {"epochs": len(losses), "seconds": time.perf_counter() - start, "first_loss": first,
            "last_loss": last, "ok": bool(np.isfinite(last) and last < first)}


def training_baseline_loss(digits, seed: int) -> float:
    """The validation loss of the untrained VAE that :func:`training_smoke_test` starts from."""
    import keras

    from genai_tf.models import registry

    keras.utils.set_random_seed(seed)  # as training.train does before building
    model = registry.family("vae").build(digits.image_shape, 8, seed)
    return float(model.evaluate(digits.validation, verbose=0, return_dict=True)["loss"])


def format_training(result: dict) -> str:
    """One line for a :func:`training_smoke_test` result."""
    verdict = "OK" if result["ok"] else "FAILED: the loss did not go down"
    return (f"  {result['epochs']} epochs in {result['seconds']:.1f} s; validation loss "
            f"{result['first_loss']:.1f} -> {result['last_loss']:.1f} nats [{verdict}]")
