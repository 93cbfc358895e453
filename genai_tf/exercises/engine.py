"""The one way a self-check runs: call the learner's function on cases with a known answer,
compare, and say what is wrong.

A check returns a :class:`CheckResult`: it prints ``PASS`` or what is wrong with a hint, and is
truthy only on a pass, so a notebook can ``assert checks.gaussian_kl(my_kl)``. When the answer is
wrong, :func:`run_cases` can also compare it with the usual wrong answers (forgetting ln 2, an
off-by-one, not renormalising, ...) and name the one it matches, so the hint says what went wrong
rather than only that something did.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
from keras import ops

NOT_IMPLEMENTED = "not implemented yet: replace the `raise NotImplementedError`."
PER_EXAMPLE = "one value per example: reduce over every axis but the batch axis"


@dataclasses.dataclass
class CheckResult:
    name: str
    passed: bool
    message: str

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.message}"


def describe_error(error) -> str:
    """``"TypeName: message"`` on one line, without terminal colour codes, TensorFlow's
    ``{{node …}}`` prefixes and the "Arguments received by …" footer Keras appends: how the
    checks, and notebook 03's tour of broken listings, show an error."""
    message = re.sub(r"\x1b\[[0-9;]*m|\{\{.*?\}\}", "", str(error)).split("Arguments received")[0]
    return f"{type(error).__name__}: {' '.join(message.split())}"


def raised(name, error, hint) -> CheckResult:
    """The failure for a learner's function that raised ``error``: "not implemented" for a stub,
    else the learner's error on one line (not a traceback from the check) and the hint."""
    if isinstance(error, NotImplementedError):
        return CheckResult(name, False, NOT_IMPLEMENTED)
    return CheckResult(name, False, f"raised {describe_error(error)}. Hint: {hint}")


def to_numpy(value) -> np.ndarray:
    """A learner's answer (a number, a NumPy array or a Keras tensor) as a float64 array."""
    return np.asarray(ops.convert_to_numpy(value), dtype="float64")


def seeded_rng(seed=0) -> np.random.Generator:
    """NumPy's generator with ``seed``: every check draws its cases from its own seed."""
    return np.random.default_rng(seed)


def _same(got, want, rtol, atol) -> bool:
    return got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def run_cases(name, function, cases, expected, hint, *, rtol=1e-4, atol=1e-4, shape_hint=None,
              mistakes=None) -> CheckResult:
    """Call ``function(*case)`` for each case and compare with ``expected[i]``.

    The first case that raises fails the check (a stub's ``NotImplementedError`` says "not
    implemented"). Without ``mistakes``, the first case that differs fails it: a wrong shape says
    which shape was expected (``shape_hint``, by default one value per example), a wrong value
    shows both and the hint. ``mistakes`` maps a description of a typical error to what that
    error returns on each case: then every case runs, and an answer that matches a mistake on
    all of them is named ("this looks like ...") before the first differing case is shown.
    """
    outputs, wrong = [], []
    for index, (case, want) in enumerate(zip(cases, expected)):
        try:
            outputs.append(to_numpy(function(*case)))
        except Exception as error:  # show the learner's error, not a traceback from here
            return raised(name, error, hint)
        if not _same(outputs[-1], np.asarray(want, "float64"), rtol, atol):
            wrong.append(index)
            if not mistakes:
                break
    if not wrong:
        return CheckResult(name, True, f"all {len(cases)} cases match.")
    for description, answers in (mistakes or {}).items():
        if all(_same(got, np.asarray(answer, "float64"), rtol, atol) for got, answer in zip(outputs, answers)):
            return CheckResult(name, False, f"this looks like {description}. Hint: {hint}")
    index = wrong[0]
    got, want = outputs[index], np.asarray(expected[index], "float64")
    if got.shape != want.shape:
        return CheckResult(name, False, f"case {index}: returned shape {got.shape}, expected {want.shape} "
                                        f"({shape_hint or PER_EXAMPLE}).")
    return CheckResult(name, False, f"case {index}: got {np.round(got, 4)}, expected {np.round(want, 4)}. Hint: {hint}")


def value_in_range(name, value, low, high, hint) -> CheckResult:
    """Check a learner's measured number (e.g. a test error) lies in ``[low, high]``."""
    value = float(value)
    if math.isfinite(value) and low <= value <= high:
        return CheckResult(name, True, f"{value:.4g} is in [{low:.4g}, {high:.4g}].")
    return CheckResult(name, False, f"{value:.4g} is outside [{low:.4g}, {high:.4g}]. Hint: {hint}")
