"""The notebooks' runtimes live in one file, notebooks/runtimes.json; the README's course map and
each notebook's header table are written from it (tools/runtimes.py), so they cannot disagree."""

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("runtimes", ROOT / "tools" / "runtimes.py")
runtimes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runtimes)


def test_the_readme_and_every_notebook_show_the_recorded_runtimes():
    assert runtimes.differences(ROOT) == [], "run `python tools/runtimes.py` after editing notebooks/runtimes.json"


def copy_of_the_course(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("figures"))
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_a_new_measurement_reaches_the_readme_and_the_notebook_and_nothing_else(tmp_path):
    root = copy_of_the_course(tmp_path)
    recorded = runtimes.load(root / "notebooks" / "runtimes.json")
    runtimes.record_smoke(recorded, {"03_gan": 41.26}, "the whole suite, 2 workers, test day")
    recorded["03_gan"]["full"]["time"] = "99 CPU-min (a test)"
    readme_before = (root / "README.md").read_text().splitlines()
    notebook_before = nbformat.read(str(root / "notebooks" / "03_gan.ipynb"), 4)
    assert runtimes.differences(root, recorded, write=True) == ["notebooks/03_gan.ipynb", "README.md"]
    assert runtimes.differences(root, recorded) == []  # written: nothing differs any more

    readme_after = (root / "README.md").read_text().splitlines()
    changed = [(a, b) for a, b in zip(readme_before, readme_after) if a != b]
    assert len(readme_before) == len(readme_after) and len(changed) == 1
    assert changed[0][1].startswith("| [03_gan](notebooks/03_gan.ipynb) | GAN theory")
    assert changed[0][1].endswith("| 41 s under nbval (the whole suite, 2 workers, test day) | 99 CPU-min (a test) |")

    notebook_after = nbformat.read(str(root / "notebooks" / "03_gan.ipynb"), 4)
    assert [c.source for c in notebook_after.cells[1:]] == [c.source for c in notebook_before.cells[1:]]
    header = notebook_after.cells[0].source
    assert "| 41 s under nbval (the whole suite, 2 workers, test day) |" in header
    assert "| CPU, 2 cores | 99 CPU-min (a test) |" in header and header.count("| profile | hardware |") == 1
    other = nbformat.read(str(root / "notebooks" / "01_autoencoder.ipynb"), 4)
    assert "99 CPU-min" not in other.cells[0].source


def test_smoke_times_for_an_unknown_notebook_and_a_missing_table_are_refused(tmp_path):
    recorded = runtimes.load()
    with pytest.raises(SystemExit, match="09_nothing"):
        runtimes.record_smoke(recorded, {"09_nothing": 3.0}, "test")
    with pytest.raises(SystemExit, match="one table headed"):
        runtimes.with_table("# A title\n\nno table here", recorded["00_start_here"], "00_start_here")
    root = copy_of_the_course(tmp_path)
    (root / "notebooks" / "runtimes.json").write_text(json.dumps({"00_start_here": recorded["00_start_here"]}))
    with pytest.raises(SystemExit, match="add or remove entries"):
        runtimes.differences(root)
