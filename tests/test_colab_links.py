"""The notebooks' Colab set-up cells, badges, figure links and ``%tensorboard`` folders agree
with the one project URL in pyproject.toml (tools/colab_links.py writes them)."""

import importlib.util
import json
import os
import shutil
import sys
import types
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from genai_tf import config
from genai_tf.training import callbacks as training_callbacks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
spec = importlib.util.spec_from_file_location("colab_links", ROOT / "tools" / "colab_links.py")
colab_links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colab_links)


def ipython():
    """An in-process IPython shell (no history file), to expand magics as a kernel does."""
    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell.instance(config=config)


def test_every_notebook_agrees_with_the_project_url():
    changed, problems = colab_links.sync(check=True)
    assert not problems, problems
    assert not changed, "\n".join(changed + ["run: python tools/colab_links.py"])


def project_copy(tmp_path, url):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n[project.urls]\nSource = "{url}"\n')
    shutil.copytree(ROOT / "notebooks" / "figures", tmp_path / "notebooks" / "figures")
    shutil.copy(ROOT / "notebooks" / "00_start_here.ipynb", tmp_path / "notebooks")
    return tmp_path / "notebooks" / "00_start_here.ipynb"


def test_a_new_url_is_found_and_written_into_only_its_cells(tmp_path):
    path = project_copy(tmp_path, "https://github.com/someone/fork.git")
    before = json.loads(path.read_text(encoding="utf-8"))
    folder, pyproject = path.parent, tmp_path / "pyproject.toml"

    changed, problems = colab_links.sync(folder, pyproject, check=True)
    assert not problems
    assert changed and all("someone/fork" in line for line in changed)
    assert json.loads(path.read_text(encoding="utf-8")) == before, "--check must not write"

    colab_links.sync(folder, pyproject)
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=1, ensure_ascii=False) + "\n"
    after = json.loads(text)
    assert colab_links.sync(folder, pyproject, check=True) == ([], [])
    setup = "".join(after["cells"][1]["source"])
    assert '"genai-tf @ git+https://github.com/someone/fork"' in setup and "genai-tf/genai-tf" not in setup
    assert ("colab.research.google.com/github/someone/fork/blob/main/notebooks/00_start_here.ipynb"
            in "".join(after["cells"][0]["source"]))
    assert "".join(after["cells"][0]["source"]).count("colab-badge.svg") == 1
    images = [line for cell in after["cells"] for line in cell["source"] if line.startswith("![")]
    assert images and all("raw.githubusercontent.com/someone/fork/main/notebooks/figures/" in line
                          for line in images)
    touched = {i for i, (old, new) in enumerate(zip(before["cells"], after["cells"])) if old != new}
    assert touched == {int(line.split(" cell ")[1].split(":")[0]) for line in changed}
    assert {0, 1} <= touched
    for i in touched:
        assert after["cells"][i]["metadata"] == before["cells"][i]["metadata"]


def test_a_relative_figure_link_is_rewritten_and_a_missing_figure_reported(tmp_path):
    path = project_copy(tmp_path, colab_links.project_url())
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"][2]["source"] += ["\n", "![a figure](figures/00_mnist_grid.png)\n",
                                       "![missing](figures/no_such_figure.png)"]
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    changed, problems = colab_links.sync(path.parent, tmp_path / "pyproject.toml")
    assert changed == ["00_start_here.ipynb cell 2: rewritten"]
    assert problems == [f"00_start_here.ipynb cell 2: figure no_such_figure.png is not in "
                        f"{path.parent / 'figures'}"]
    source = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][2]["source"])
    assert f"![a figure]({colab_links.figure_url(colab_links.project_url(), '00_mnist_grid.png')})" in source


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "github.com/a/b", "https://github.com/a"])
def test_a_url_that_is_not_a_github_repository_is_refused(tmp_path, url):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n[project.urls]\nSource = "{url}"\n')
    with pytest.raises(SystemExit, match="not a GitHub repository URL"):
        colab_links.project_url(tmp_path / "pyproject.toml")


# --- the set-up cell, run by IPython with %pip captured -----------------------------------------


@pytest.fixture
def shell(monkeypatch, tmp_path):
    if list(Path("/content").glob(colab_links.WHEEL_PATTERN)):
        pytest.skip("this machine has a course wheel in /content")
    shell = ipython()
    installs, real_pip = [], shell.magics_manager.magics["line"].get("pip")
    shell.register_magic_function(lambda line: installs.append(line), "line", "pip")
    monkeypatch.chdir(tmp_path)
    shell.installs = installs
    yield shell
    shell.magics_manager.magics["line"]["pip"] = real_pip


def run_setup_cell(shell, colab):
    with_colab = {"google.colab": types.ModuleType("google.colab")} if colab else {}
    saved = sys.modules.pop("google.colab", None)
    sys.modules.update(with_colab)
    try:
        result = shell.run_cell(colab_links.setup_cell(colab_links.project_url()))
    finally:
        sys.modules.pop("google.colab", None)
        if saved is not None:
            sys.modules["google.colab"] = saved
    result.raise_error()
    return shell.installs


def test_the_setup_cell_does_nothing_outside_colab(shell):
    Path("genai_tf-0.1.0-py3-none-any.whl").touch()
    assert run_setup_cell(shell, colab=False) == []


def test_the_setup_cell_installs_from_the_project_url_without_a_wheel(shell):
    assert run_setup_cell(shell, colab=True) == [f'install -q "genai-tf @ git+{colab_links.project_url()}"']


def test_the_setup_cell_installs_the_newest_wheel_beside_the_notebook(shell, tmp_path):
    old, new = tmp_path / "genai_tf-0.2.0-py3-none-any.whl", tmp_path / "genai_tf-0.1.0-py3-none-any.whl"
    for wheel, mtime in ((old, 1_000_000), (new, 2_000_000)):
        wheel.touch()
        os.utime(wheel, (mtime, mtime))
    (tmp_path / "other-1.0-py3-none-any.whl").touch()
    assert run_setup_cell(shell, colab=True) == [f'install -q "{new}"']


# --- %tensorboard opens the folder the callbacks write to ---------------------------------------


@pytest.mark.parametrize("runs_env", [True, False], ids=["GENAI_TF_RUNS_DIR", "colab-cwd"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tensorboard_cells_open_the_folder_the_callbacks_write_to(path, runs_env, monkeypatch, tmp_path):
    if runs_env:
        monkeypatch.setenv(config.RUNS_ENV, str(tmp_path / "elsewhere"))
    else:  # as on Colab: the kernel starts in /content, with no project around it
        monkeypatch.delenv(config.RUNS_ENV, raising=False)
        monkeypatch.chdir(tmp_path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = [line for cell in cells if cell["cell_type"] == "code"
             for line in "".join(cell["source"]).splitlines() if line.startswith("%tensorboard")]
    assert lines, f"{path.name} has no %tensorboard cell"
    run = training_callbacks.run_directory(path.stem, "a-run")
    shell = ipython()
    shell.user_ns["config"] = config
    for line in lines:
        logdir = Path(shell.var_expand(line).split("--logdir ", 1)[1].strip('"'))
        assert run.is_relative_to(logdir), f"{path.name}: {line} opens {logdir}, runs go to {run}"
