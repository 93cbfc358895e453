"""Tests of the repository around the package: dependency lists, notebooks, imports, README, docstrings."""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from genai_tf import losses, sampling

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def normalised(requirement):
    parsed = Requirement(requirement)
    return (canonicalize_name(parsed.name), tuple(sorted(str(s) for s in parsed.specifier)),
            tuple(sorted(parsed.extras)))


# --- (a) environment.yml and pyproject.toml agree -------------------------------------------


def expanded(extra, project):
    """An extra's requirements, with a self-reference such as ``genai-tf[course]`` replaced by
    that extra's own requirements (pip resolves it so)."""
    entries = []
    for entry in project["optional-dependencies"][extra]:
        requirement = Requirement(entry)
        if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
            for inner in sorted(requirement.extras):
                entries += expanded(inner, project)
        else:
            entries.append(entry)
    return entries


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + expanded("dev", project)
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [entry for entry in environment["dependencies"] if isinstance(entry, str)]
    pip_lists = [entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict)]
    assert len(pip_lists) == 1, "environment.yml should have one pip: section"
    pip = [entry for entry in pip_lists[0] if not entry.startswith("-e")]
    editable = [entry for entry in pip_lists[0] if entry.startswith("-e")]

    assert sorted(map(normalised, pip)) == sorted(map(normalised, declared))
    assert len(pip) == len(set(map(normalised, pip))), "a dependency is listed twice"
    assert [entry.replace(" ", "").replace('"', "") for entry in editable] == ["-e.[dev]"]
    assert "pip" in conda
    python = [entry for entry in conda if entry.replace(" ", "").startswith("python")]
    assert python == [f"python{project['requires-python']}"]


def test_tensorflow_is_not_pinned_to_one_release():
    """Colab ships its own TensorFlow: installing the course must not replace it (design §7)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in map(Requirement, project["dependencies"]):
        if canonicalize_name(requirement.name) in ("tensorflow", "keras"):
            operators = {spec.operator for spec in requirement.specifier}
            assert operators <= {">=", ">", "!="}, str(requirement)


# --- (b) notebooks are valid and stripped ------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=lambda p: p.name if p else "no-notebooks")
def test_notebook_is_valid_and_stripped(path):
    if path is None:
        pytest.skip("no notebooks yet")
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs: strip them"
            assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


def test_notebook_names_are_numbered():
    for path in NOTEBOOKS:
        prefix, _, topic = path.stem.partition("_")
        assert prefix.isdigit() and len(prefix) == 2 and topic, path.name


# --- (c) importing the package has no side effects -----------------------------------------

IMPORT_SCRIPT = r"""
import importlib, json, logging, os, pkgutil, random, sys
import numpy as np
import tensorflow as tf
import keras
from keras.src.backend.common import global_state
from keras.src.utils import rng_utils
from tensorflow.python.framework import random_seed

before = {
    "python_random": random.getstate(),
    "numpy_random": np.random.get_state()[1].tolist(),
    "root_handlers": len(logging.getLogger().handlers),
    "root_level": logging.getLogger().level,
}
import genai_tf
modules = ["genai_tf"] + sorted(
    info.name for info in pkgutil.walk_packages(genai_tf.__path__, "genai_tf.")
)
for name in modules:
    importlib.import_module(name)
print(json.dumps({
    "modules": modules,
    "tfds_imported": "tensorflow_datasets" in sys.modules,
    "python_random_same": random.getstate() == before["python_random"],
    "numpy_random_same": np.random.get_state()[1].tolist() == before["numpy_random"],
    "root_handlers_same": len(logging.getLogger().handlers) == before["root_handlers"],
    "root_level_same": logging.getLogger().level == before["root_level"],
    "keras_seed": rng_utils.get_random_seed(),
    "keras_seed_generator": repr(global_state.get_global_attribute("global_seed_generator")),
    "tf_seed": random_seed.get_seed(None)[0],
    "files": sorted(os.listdir(".")),
}))
"""


def test_importing_every_module_has_no_side_effects(tmp_path):
    completed = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT], cwd=tmp_path, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    expected_modules = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                        for path in (ROOT / "genai_tf").rglob("*.py")}  # subpackages too (exercises/...)
    assert expected_modules <= set(report["modules"])
    assert "genai_tf.models.vae" in report["modules"]
    assert report["files"] == [], "importing genai_tf created files in the working directory"
    assert not report["tfds_imported"], "tensorflow_datasets must be imported lazily (it is slow)"
    assert report["python_random_same"] and report["numpy_random_same"], "an import seeded a RNG"
    assert report["keras_seed"] is None and report["keras_seed_generator"] == "None"
    assert report["tf_seed"] is None
    assert report["root_handlers_same"] and report["root_level_same"], "an import set up logging"


# --- (d) README says how to set up and test ------------------------------------------------


def test_readme_gives_the_setup_and_test_commands():
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("no README.md yet")
    text = readme.read_text()
    assert 'pip install -e ".[dev]"' in text
    assert any(line.strip() == "pytest" or line.strip().startswith("pytest ")
               for line in text.splitlines()), "the README should show the test command"


# --- (e) every loss and schedule names its equation and notebook -------------------------------


def public_functions(module):
    return [(f"{module.__name__}.{name}", function) for name, function in inspect.getmembers(module, inspect.isfunction)
            if function.__module__ == module.__name__ and not name.startswith("_")]


def sampling_modules():
    import importlib
    import pkgutil

    return [importlib.import_module(info.name)
            for info in pkgutil.walk_packages(sampling.__path__, sampling.__name__ + ".")]


def public_losses():
    """Every function of losses and sampling.schedules (one per equation), and every function of
    the other sampling modules whose docstring cites an equation (the updates, not the loop)."""
    equations = public_functions(losses) + public_functions(sampling.schedules)
    for module in sampling_modules():
        if module is not sampling.schedules:
            equations += [(name, function) for name, function in public_functions(module)
                          if "Eq. (" in (inspect.getdoc(function) or "").split("\n")[0]]
    return equations


def test_every_loss_docstring_names_its_equation_and_notebook():
    found = public_losses()
    assert len(found) >= 8
    assert {"genai_tf.sampling.schedules.noise_schedule", "genai_tf.sampling.diffusion.ddim_step",
            "genai_tf.sampling.text.top_p_filter"} <= {name for name, _ in found}
    for name, function in found:
        doc = inspect.getdoc(function)
        assert doc, f"{name} has no docstring"
        first_line = doc.splitlines()[0]
        assert "Eq. (" in first_line and "notebooks/" in first_line, f"{name}: {first_line}"
        assert cited_notebook(function).endswith(".ipynb"), f"{name}: {first_line}"


def cited_notebook(function):
    first_line = inspect.getdoc(function).splitlines()[0]
    return first_line.split("notebooks/")[1].split()[0].rstrip(":,.")


def test_every_loss_cites_a_notebook_that_exists():
    if not NOTEBOOKS:
        pytest.skip("no notebooks yet")
    missing = {name: cited_notebook(function) for name, function in public_losses()
               if not (ROOT / "notebooks" / cited_notebook(function)).exists()}
    assert not missing, f"docstrings cite notebooks that don't exist: {missing}"


# --- (f) what the package imports is declared, and the doctor checks the declared floors -----


def imported_distributions(paths):
    """``{top-level module: distributions providing it}`` for every non-stdlib import in ``paths``."""
    import ast
    import importlib.metadata

    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | {"genai_tf"}
    provided_by = importlib.metadata.packages_distributions()
    return {module: {canonicalize_name(name) for name in provided_by.get(module, [])}
            for module in modules}


COURSE = ROOT / "genai_tf" / "course"  # the instructor's tools, with their own extra


def test_every_module_the_package_imports_is_a_declared_dependency():
    """The library imports only its dependencies; genai_tf.course also its ``course`` extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {canonicalize_name(Requirement(entry).name) for entry in project["dependencies"]}
    course = core | {canonicalize_name(Requirement(entry).name) for entry in expanded("course", project)}
    library = imported_distributions(path for path in (ROOT / "genai_tf").rglob("*.py") if COURSE not in path.parents)
    tools = imported_distributions(COURSE.rglob("*.py"))
    assert {"tensorflow", "keras"} <= set(library) and {"nbformat", "nbconvert"} <= set(tools)
    for imported, declared, where in ((library, core, "dependencies"), (tools, course, "course extra")):
        undeclared = {module: sorted(names) for module, names in imported.items() if not names & declared}
        assert not undeclared, f"genai_tf imports these, but pyproject.toml's {where} lacks them: {undeclared}"


def test_the_course_tools_are_an_extra_that_dev_includes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {canonicalize_name(Requirement(entry).name) for entry in project["dependencies"]}
    course = {canonicalize_name(Requirement(entry).name) for entry in project["optional-dependencies"]["course"]}
    assert {"nbformat", "nbconvert", "django-static-mathjax"} <= course and not course & core
    assert set(expanded("course", project)) <= set(expanded("dev", project))


def test_the_genai_tf_script_is_the_cli_main():
    import importlib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, function = project["scripts"]["genai-tf"].partition(":")
    assert (module, function) == ("genai_tf.cli", "main")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_doctor_checks_the_declared_floors():
    from genai_tf import doctor

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {canonicalize_name(requirement.name): spec.version
              for requirement in map(Requirement, project["dependencies"])
              for spec in requirement.specifier if spec.operator == ">="}
    assert doctor.MINIMUM_VERSIONS == {"python": project["requires-python"].removeprefix(">="),
                                       "tensorflow": floors["tensorflow"], "keras": floors["keras"]}
