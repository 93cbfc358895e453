"""CI step: notebook 00 as a Colab learner runs it, then the unit tests on the lowest supported
TensorFlow and Keras, in one fresh virtual environment.

1. A new venv gets only what Colab has: TensorFlow and Keras at the floors pyproject.toml
   declares (``tensorflow>=X`` is installed as ``tensorflow==X``), Jupyter's kernel and
   notebook runner (ipykernel, nbclient) and matplotlib. No install of the project.
2. ``pip wheel . --no-deps`` builds the project's wheel; it goes into a temporary folder beside
   a copy of notebook 00, the way an instructor hands it out.
3. A kernel with a fake ``google.colab`` imported at start-up (as on Colab) runs the copy top
   to bottom in the smoke profile, set-up cell included: it must install the project from
   that wheel, and the dependencies from the index, without changing TensorFlow or Keras.
   ``%tensorboard`` cells would start a server, so instead their ``--logdir``, filled in by
   that kernel, must hold the event files the training callbacks wrote.
4. In the same venv, with the test extras added: ``pytest tests -m "not slow"``: the unit tests,
   not the notebooks. The three slow tests (a real kill and rerun, the doctor, a benchmark's
   quick run) exercise processes and scripts rather than versions; the main suite runs them.

Usage: ``python .ci/colab_and_floors.py [--keep]`` from anywhere; exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_start_here.ipynb"
COLAB_PACKAGES = ["ipykernel", "nbclient", "matplotlib"]  # besides TensorFlow and Keras
FLOORED = ("tensorflow", "keras")
COLAB_GUARD = '"google.colab" in sys.modules'


def floors(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """``["tensorflow==2.20", "keras==3.10"]`` from pyproject's ``>=`` floors."""
    import tomllib

    found = {}
    for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)\s*", requirement)
        if match and match[1].lower() in FLOORED:
            found[match[1].lower()] = f"{match[1].lower()}=={match[2]}"
    missing = [name for name in FLOORED if name not in found]
    if missing:
        sys.exit(f"pyproject.toml: give {missing} a floor written as 'name>=X.Y' (no upper bound)")
    return [found[name] for name in FLOORED]


def step(title: str, command: list, **kwargs) -> float:
    print(f"\n== {title}\n$ {' '.join(map(str, command))}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    seconds = time.perf_counter() - start
    print(f"== {title}: {seconds:.0f} s", flush=True)
    return seconds


def orchestrate(keep: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="genai-tf-colab-"))
    venv, wheels, course = work / "venv", work / "wheels", work / "course"
    python = venv / "bin" / "python"
    # A fresh machine's cFID-classifier cache: one saved by a newer Keras may not load in the floor's.
    os.environ["GENAI_TF_CACHE_DIR"] = str(work / "cache")
    start = time.perf_counter()
    try:
        step("fresh venv", [sys.executable, "-m", "venv", venv])
        step("what Colab has, at the floors", [python, "-m", "pip", "install", "-q",
                                               *floors(), *COLAB_PACKAGES])
        step("the project's wheel", [python, "-m", "pip", "wheel", "-q", ".", "--no-deps",
                                     "-w", wheels], cwd=ROOT)
        (wheel,) = wheels.glob("genai_tf-*.whl")
        course.mkdir()
        shutil.copy(wheel, course)
        shutil.copy(NOTEBOOK, course)
        step("notebook 00 as a Colab learner", [python, Path(__file__).resolve(), "--run-notebook",
                                                course / NOTEBOOK.name])
        step("test extras", [python, "-m", "pip", "install", "-q", f"{course / wheel.name}[dev]"])
        step("unit tests at the floors", [python, "-m", "pytest", "-q", "tests", "-m", "not slow"], cwd=ROOT)
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\ncolab and floors: {time.perf_counter() - start:.0f} s in all")


# --- run inside the venv -------------------------------------------------------------------

FAKE_COLAB = '"""A stand-in for Colab\'s google.colab: the notebooks only test that it is loaded."""\n'

TENSORBOARD_CHECK = """\
import shlex
from pathlib import Path

for line in {lines!r}:  # each %tensorboard line of the notebook, filled in as IPython would
    words = shlex.split(get_ipython().var_expand(line))
    logdir = Path(words[words.index("--logdir") + 1])
    events = sorted(logdir.rglob("events.out.tfevents.*"))
    print(line, "->", logdir, f"({{len(events)}} event files)")
    assert events, f"{{line}} points at {{logdir}}, which holds no TensorBoard runs"
    assert logdir.resolve().is_relative_to(Path.cwd().resolve() / "runs"), logdir
"""


def installed(python: str, cwd: Path) -> dict:
    """Versions and the origin of genai-tf as a fresh interpreter sees them."""
    script = """if True:
        import importlib.metadata as m, importlib.util, json, sys
        found = importlib.util.find_spec("genai_tf")
        try:
            direct_url = json.loads(m.distribution("genai-tf").read_text("direct_url.json") or "{}")
        except m.PackageNotFoundError:
            direct_url = None
        print(json.dumps({"tensorflow": m.version("tensorflow"), "keras": m.version("keras"),
                          "genai_tf_file": found and found.origin, "direct_url": direct_url,
                          "prefix": sys.prefix}))"""
    completed = subprocess.run([python, "-c", script], cwd=cwd, check=True, capture_output=True,
                               text=True)
    return json.loads(completed.stdout)


def run_notebook(path: Path) -> None:
    import nbclient
    import nbformat

    folder = path.parent
    wheel = next(folder.glob("genai_tf-*.whl"))
    before = installed(sys.executable, folder)
    assert before["genai_tf_file"] is None and before["direct_url"] is None, (
        f"genai-tf is already installed ({before}): the venv must have only what Colab has")

    fake = Path(tempfile.mkdtemp(prefix="fake-colab-"))
    (fake / "site" / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: google
    (fake / "site" / "google" / "colab" / "__init__.py").write_text(FAKE_COLAB)  # is a namespace
    startup = fake / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # Colab's kernel has it loaded\n")
    for name in ("GENAI_TF_RUNS_DIR", "GENAI_TF_CHECKPOINT_DIR", "GENAI_TF_DATA_DIR", "MPLBACKEND",
                 "PYTHONPATH"):
        os.environ.pop(name, None)  # a learner has none of the course's settings
    os.environ.update(GENAI_TF_PROFILE="smoke", PYTHONPATH=str(fake / "site"),
                      IPYTHONDIR=str(fake / "ipython"))

    notebook = nbformat.read(path, as_version=4)
    setup = [cell for cell in notebook.cells if cell.cell_type == "code" and COLAB_GUARD in cell.source]
    assert len(setup) == 1, f"{path.name} should have one Colab set-up cell, found {len(setup)}"
    # Colab ignores tags; nbclient skips cells tagged skip-execution, so untag the set-up cell.
    setup[0].metadata["tags"] = [t for t in setup[0].metadata.get("tags", []) if t != "skip-execution"]
    lines = [line for cell in notebook.cells if cell.cell_type == "code"
             for line in cell.source.splitlines() if line.startswith("%tensorboard")]
    assert lines, f"{path.name} has no %tensorboard cell to check"
    notebook.cells.append(nbformat.v4.new_code_cell(TENSORBOARD_CHECK.format(lines=lines)))

    start = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    print(f"{path.name}: {len(notebook.cells)} cells in {time.perf_counter() - start:.0f} s")
    print("set-up cell:", "".join(o.get("text", "") for o in setup[0].outputs).strip()[:500])
    print("tensorboard check:", "".join(o.get("text", "") for o in notebook.cells[-1].outputs).strip())

    after = installed(sys.executable, folder)
    url = (after["direct_url"] or {}).get("url", "")
    assert url.startswith("file://") and url.endswith("/" + wheel.name), (
        f"genai-tf was not installed from {wheel}: {after['direct_url']}")
    assert Path(after["genai_tf_file"]).is_relative_to(after["prefix"]), after["genai_tf_file"]
    for name in FLOORED:
        assert after[name] == before[name], f"installing the course changed {name} {before[name]} -> {after[name]}"
    assert (folder / "runs" / "00_start_here").is_dir(), "no runs/00_start_here beside the notebook"
    print(f"installed from {wheel.name}; tensorflow {after['tensorflow']}, keras {after['keras']} kept")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary venv and folder")
    parser.add_argument("--run-notebook", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_notebook:
        run_notebook(args.run_notebook)
    else:
        orchestrate(args.keep)
