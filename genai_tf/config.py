"""Run profiles (``full``, the default, and ``smoke``) and every ``GENAI_TF_*`` environment variable.

The variables, all read here and nowhere else:

========================== ================================================================
``GENAI_TF_PROFILE``        ``full`` (default) or ``smoke`` (CI, a room's set-up check)
``GENAI_TF_DATA_DIR``       a folder of offline data: ``<name>.npz`` images, ``<name>.txt`` corpora
``GENAI_TF_RUNS_DIR``       where TensorBoard runs go (default ``runs/`` at the project root)
``GENAI_TF_CHECKPOINT_DIR`` pretrained checkpoints (default ``checkpoints/`` at the project root)
``GENAI_TF_CACHE_DIR``      the evaluation classifier's cache (default ``~/.cache/genai_tf``)
``GENAI_TF_DEBUG``          ``1``: the command line shows full tracebacks and TensorFlow's logging
========================== ================================================================

``smoke`` is selected with the environment variable ``GENAI_TF_PROFILE=smoke``. It shrinks
data, epochs and widths so that each notebook runs in about a minute on a CPU; it never
skips cells. Notebooks read the profile through :func:`pick` inside their config
dataclass, so a learner always sees the real (``full``) values next to the smoke ones::

    @dataclasses.dataclass(frozen=True)
    class Config:
        epochs: int = config.pick(full=30, smoke=2)   # passes over the training set
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILE_ENV = "GENAI_TF_PROFILE"
DATA_DIR_ENV = "GENAI_TF_DATA_DIR"
RUNS_ENV = "GENAI_TF_RUNS_DIR"
CHECKPOINT_ENV = "GENAI_TF_CHECKPOINT_DIR"
CACHE_DIR_ENV = "GENAI_TF_CACHE_DIR"
DEBUG_ENV = "GENAI_TF_DEBUG"
PROFILES = ("full", "smoke")


def get_profile() -> str:
    """Return the active profile name, ``"full"`` unless ``GENAI_TF_PROFILE`` says otherwise."""
    value = os.environ.get(PROFILE_ENV, "full").strip().lower() or "full"
    if value not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={value!r} is not a known profile. "
            f"Use one of {PROFILES}, e.g. `export {PROFILE_ENV}=smoke` for a quick run, "
            f"or unset it for the full course values."
        )
    return value


def is_smoke() -> bool:
    """True when the quick ``smoke`` profile (CI, a room's set-up check) is active."""
    return get_profile() == "smoke"


def pick(*, full, smoke):
    """Return ``full`` or ``smoke`` depending on the active profile."""
    return smoke if is_smoke() else full


def describe(config) -> str:
    """A readable one-field-per-line listing of a config dataclass, with the profile."""
    import dataclasses

    lines = [f"profile: {get_profile()}"]
    for field in dataclasses.fields(config):
        lines.append(f"  {field.name:<22} = {getattr(config, field.name)!r}")
    return "\n".join(lines)


def project_folder(name: str, env: str) -> Path:
    """``$env`` if set, else ``<project root>/<name>`` (the cwd's parent when the cwd is a
    project's ``notebooks/`` folder, so notebooks and the command line share one folder),
    else ``<cwd>/<name>``. Used for TensorBoard runs and checkpoints."""
    if os.environ.get(env):
        return Path(os.environ[env])
    cwd = Path.cwd()
    if cwd.name == "notebooks" and (cwd.parent / "pyproject.toml").exists():
        return cwd.parent / name
    return cwd / name


def data_dir(explicit=None) -> str | None:
    """The offline data folder: ``explicit`` if given, else ``$GENAI_TF_DATA_DIR``, else None."""
    if explicit is not None:
        return str(explicit)
    return os.environ.get(DATA_DIR_ENV) or None


def runs_root() -> Path:
    """Where TensorBoard runs go: ``$GENAI_TF_RUNS_DIR``, else ``runs/`` at the project root.

    A notebook's kernel starts in ``notebooks/``; its runs go to the project's ``runs/`` so
    that ``tensorboard --logdir runs`` from the project root sees every notebook.
    """
    return project_folder("runs", RUNS_ENV)


def checkpoint_root() -> Path:
    """``$GENAI_TF_CHECKPOINT_DIR``, else ``checkpoints/`` at the project root (or the cwd)."""
    return project_folder("checkpoints", CHECKPOINT_ENV)


def cache_dir() -> Path:
    """``$GENAI_TF_CACHE_DIR`` if set, else ``~/.cache/genai_tf``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "genai_tf")


def debug() -> bool:
    """Whether ``$GENAI_TF_DEBUG`` asks for full tracebacks and TensorFlow's logging."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")
