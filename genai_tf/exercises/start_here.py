"""Self-checks of notebook 00, the first look at the package: how big an image is, how the data splits,
and how a run profile is switched.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import numpy as np

from genai_tf.exercises.engine import CheckResult, raised, run_cases


def num_pixels(function) -> CheckResult:
    """Check ``function(image_shape) -> D``, the number of pixel values H·W·C (notebook 00)."""
    cases = [((28, 28, 1),), ((32, 32, 3),), ((8, 8, 1),)]
    expected = [784, 3072, 64]
    return run_cases("num_pixels", function, cases, expected,
                     "multiply height, width and channels: math.prod(image_shape).", rtol=0, atol=0)


def digits_split_sizes(function) -> CheckResult:
    """Check ``function(seed, validation_fraction) -> (train, validation, test)`` sizes of ``digits``.

    The expected sizes follow the split documented in :func:`genai_tf.data.images.load`:
    test = round(0.15 · 1797) = 270, validation = round(fraction · 1527), train = the rest.
    """
    cases = [(0, 0.1), (7, 0.25)]
    expected = []
    for _, fraction in cases:
        validation = round(fraction * (1797 - 270))
        expected.append([1797 - 270 - validation, validation, 270])
    return run_cases("digits_split_sizes", lambda seed, fraction: np.asarray(function(seed, fraction)),
                     cases, expected, "load with images.load('digits', seed=..., "
                     "validation_fraction=...) and count the examples of each split.", rtol=0, atol=0)


def profile_switch(function) -> CheckResult:
    """Check ``function(profile, task)``: runs ``task()`` under ``GENAI_TF_PROFILE=profile``.

    It must return ``task()``'s value and leave the environment as it found it afterwards,
    even when ``task`` raises (notebook 00).
    """
    import os

    from genai_tf import config

    name = "profile_switch"
    saved = os.environ.get(config.PROFILE_ENV)

    def restored():
        return os.environ.get(config.PROFILE_ENV) == saved

    def pick():
        return config.pick(full="full value", smoke="smoke value")

    try:
        for profile in ("smoke", "full"):
            try:
                got = function(profile, pick)
            except Exception as error:  # e.g. os.environ[...] = None when it was unset
                return raised(name, error, "os.environ only holds strings; to restore an unset variable, "
                                           "delete it (os.environ.pop(name, None)).")
            if got != f"{profile} value":
                return CheckResult(name, False, f"under {profile!r}, config.pick returned {got!r}. "
                                   f"Hint: set os.environ[{config.PROFILE_ENV!r}] before calling task().")
            if not restored():
                return CheckResult(name, False, f"after the {profile!r} run, {config.PROFILE_ENV} is "
                                   f"{os.environ.get(config.PROFILE_ENV)!r}, not {saved!r} as before. "
                                   "Hint: save the old value and put it back (or delete the "
                                   "variable if it was unset).")

        def fails():
            raise KeyError("task failed")

        # Raise under a profile other than the current one (CI already runs under "smoke"),
        # so a profile that is not restored after the error is visible.
        try:
            function("full" if saved == "smoke" else "smoke", fails)
        except KeyError:
            pass
        else:
            return CheckResult(name, False, "an error inside task() was swallowed; let it propagate.")
        if not restored():
            return CheckResult(name, False, "when task() raises, the profile is not restored. "
                               "Hint: restore it in a `finally:` block.")
        return CheckResult(name, True, "switches the profile, returns task()'s value, and restores "
                           "the environment, also after an error.")
    finally:
        if saved is None:
            os.environ.pop(config.PROFILE_ENV, None)
        else:
            os.environ[config.PROFILE_ENV] = saved
