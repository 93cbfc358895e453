"""Run profiles: ``full`` (the default, the values a learner should use) and ``smoke``.

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
