"""Tests of genai_tf.exercises.engine, the one way a self-check runs, and of the package's layout:
each notebook imports its own exercises module, and every check it calls is there.

A check's message must help: a failure shows a hint, a stub says "not implemented", a shape
mistake says which shape was expected, and a known mistake is named. The helpers here are used by
every tests/test_exercises_*.py.
"""

import json
import pathlib
import re

import numpy as np

from genai_tf.exercises import engine

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def assert_passes(result):
    assert isinstance(result, engine.CheckResult)
    assert result and result.passed, result.message
    assert repr(result).startswith(f"PASS {result.name}")


def assert_fails(result, *fragments):
    assert isinstance(result, engine.CheckResult)
    assert not result and not result.passed
    assert repr(result).startswith(f"FAIL {result.name}")
    for fragment in fragments:
        assert fragment in result.message, (fragment, result.message)


def not_implemented(*args):
    raise NotImplementedError


def test_describe_error_gives_one_clean_line():
    error = ValueError("\x1b[31mInput 0 of layer\x1b[0m {{node dense/MatMul}} is\nincompatible\n\n"
                       "Arguments received by Dense.call():\n  • inputs=tf.Tensor(shape=(4, 3))")
    assert engine.describe_error(error) == "ValueError: Input 0 of layer is incompatible"
    assert engine.describe_error(NameError("name 'x' is not defined")) == "NameError: name 'x' is not defined"


def test_value_in_range_check():
    assert_passes(engine.value_in_range("test_mse", 0.02, 0.0, 0.05, "train longer"))
    assert_fails(engine.value_in_range("test_mse", 0.2, 0.0, 0.05, "train longer"),
                 "outside", "Hint: train longer")
    assert_fails(engine.value_in_range("test_mse", float("nan"), 0.0, 0.05, "train longer"), "Hint:")


# --- run_cases: one runner, with or without known mistakes -----------------------------------

CASES = [(1.0,), (2.0,), (3.0,)]
DOUBLED = [2.0, 4.0, 6.0]


def double(x):
    return 2.0 * x


def test_run_cases_passes_stops_at_the_first_wrong_case_and_reports_shapes():
    assert_passes(engine.run_cases("double", double, CASES, DOUBLED, "multiply by 2"))
    calls = []

    def wrong_then_raises(x):
        calls.append(x)
        if x == 3.0:
            raise ValueError("never reached")
        return x if x == 2.0 else 2.0 * x

    # without known mistakes, the first differing case fails the check and later cases don't run
    assert_fails(engine.run_cases("double", wrong_then_raises, CASES, DOUBLED, "multiply by 2"),
                 "case 1", "got 2.0", "expected 4.0", "Hint: multiply by 2")
    assert calls == [1.0, 2.0]
    assert_fails(engine.run_cases("double", lambda x: np.full(2, 2 * x), CASES, DOUBLED, "h"),
                 "case 0", "returned shape (2,)", "expected ()", engine.PER_EXAMPLE)
    assert_fails(engine.run_cases("double", lambda x: [x, x], CASES, DOUBLED, "h", shape_hint="one number"),
                 "(one number)")
    assert_fails(engine.run_cases("double", lambda x: 2.0 * x + 1e-3, CASES, DOUBLED, "h", rtol=0, atol=1e-4),
                 "case 0")


def test_run_cases_names_a_known_mistake_after_running_every_case():
    mistakes = {"adding instead of multiplying": [3.0, 4.0, 5.0], "squaring": [1.0, 4.0, 9.0]}
    assert_passes(engine.run_cases("double", double, CASES, DOUBLED, "h", mistakes=mistakes))
    assert_fails(engine.run_cases("double", lambda x: x + 2.0, CASES, DOUBLED, "multiply", mistakes=mistakes),
                 "this looks like adding instead of multiplying", "Hint: multiply")
    assert_fails(engine.run_cases("double", lambda x: x * x, CASES, DOUBLED, "h", mistakes=mistakes), "squaring")
    # right on case 1 only, like no mistake on every case: the first differing case is shown
    assert_fails(engine.run_cases("double", lambda x: x * x if x != 3.0 else 0.0, CASES, DOUBLED, "h",
                                  mistakes=mistakes), "case 0", "got 1.0", "expected 2.0")

    def raises_late(x):
        if x == 3.0:
            raise KeyError("late")
        return x + 2.0

    # with known mistakes every case runs first, so an error in any case is reported
    assert_fails(engine.run_cases("double", raises_late, CASES, DOUBLED, "h", mistakes=mistakes),
                 "raised KeyError", "Hint: h")


def test_run_cases_reports_a_stub_and_a_learners_error_in_one_line():
    assert_fails(engine.run_cases("double", not_implemented, CASES, DOUBLED, "h"), engine.NOT_IMPLEMENTED)
    result = engine.run_cases("double", lambda x: x + "oops", CASES, DOUBLED, "multiply by 2")
    assert_fails(result, "raised TypeError", "Hint: multiply by 2")
    assert "\n" not in result.message
    assert_fails(engine.raised("double", NotImplementedError(), "h"), "not implemented")


def test_run_cases_compares_nan_with_nan():
    """An answer that is NaN where the expected one is (e.g. 0 / 0 named as a mistake) matches it."""
    assert_passes(engine.run_cases("nan", lambda x: np.array([x, np.nan]), [(1.0,)], [[1.0, np.nan]], "h"))
    assert_fails(engine.run_cases("nan", lambda x: np.array([x, np.nan]), [(1.0,)], [[1.0, 2.0]], "h"), "case 0")


# --- the layout: one module per notebook, and every check a notebook calls exists ---------------


def notebook_code(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def test_each_notebook_imports_its_own_exercises_module_and_its_checks_exist():
    import importlib

    for path in NOTEBOOKS:
        code = notebook_code(path)
        imports = re.findall(r"from genai_tf\.exercises import (\w+) as checks", code)
        called = set(re.findall(r"\bchecks\.(\w+)", code))
        assert "text_checks" not in code and "genai_tf.checks" not in code, path.name
        if not called:
            continue
        assert len(imports) == 1, f"{path.name} imports {imports}: one exercises module per notebook"
        module = importlib.import_module(f"genai_tf.exercises.{imports[0]}")
        missing = sorted(name for name in called if not hasattr(module, name))
        assert not missing, f"{path.name} calls checks.{missing} that genai_tf.exercises.{imports[0]} lacks"
