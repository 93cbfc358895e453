"""The student-version tool keeps signatures and stubs every solution cell."""

import sys

import nbformat

from genai_tf import cli, course
from genai_tf.course import student
from genai_tf.course.student import make_student_version, stub_source

SOLUTION = '''import numpy as np

def my_kl(z_mean, z_log_var):
    """KL(N(mu, sigma^2) || N(0, I)) per example."""
    return 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=-1)

value = my_kl(np.zeros((1, 2)), np.zeros((1, 2)))
'''


def test_stub_keeps_signature_docstring_and_imports():
    stub = stub_source(SOLUTION)
    assert "import numpy as np" in stub
    assert "def my_kl(z_mean, z_log_var):" in stub
    assert "KL(N(mu, sigma^2)" in stub
    assert "np.exp(z_log_var)" not in stub  # the answer is gone
    namespace = {}
    exec(stub, namespace)  # the stub is valid Python
    try:
        namespace["my_kl"](1, 2)
    except NotImplementedError as error:
        assert "my_kl" in str(error)
    else:
        raise AssertionError("the stub should raise NotImplementedError")


def _notebook_with_solution(path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("Exercise 1"),
        nbformat.v4.new_code_cell(SOLUTION, metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("print('check')"),
    ]
    nbformat.write(notebook, str(path))


def test_make_student_version(tmp_path):
    source = tmp_path / "01_x.ipynb"
    _notebook_with_solution(source)
    count = make_student_version(source, tmp_path / "student" / "01_x.ipynb")
    assert count == 1
    student = nbformat.read(str(tmp_path / "student" / "01_x.ipynb"), as_version=4)
    nbformat.validate(student)
    solution_cell = student.cells[1]
    assert "solution" not in solution_cell.metadata["tags"]
    assert "NotImplementedError" in solution_cell.source
    assert student.cells[2].source == "print('check')"


def test_cli_student(tmp_path, capsys):
    source = tmp_path / "02_y.ipynb"
    _notebook_with_solution(source)
    assert cli.main(["student", str(source), "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "02_y.ipynb").exists()
    assert "1 solution cells" in capsys.readouterr().out


def test_cli_student_without_the_course_extra_says_which_to_install(tmp_path, monkeypatch, capsys):
    source = tmp_path / "02_y.ipynb"
    _notebook_with_solution(source)
    monkeypatch.setitem(sys.modules, "nbformat", None)  # import nbformat now raises ImportError
    assert cli.main(["student", str(source), "--output", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and not (tmp_path / "out").exists()
    assert captured.err == 'error: `genai-tf student` needs nbformat, which is not installed: pip install "genai-tf[course]".\n'
    assert course.INSTALL in captured.err


def test_hidden_solutions_run_unchanged_and_their_stubs_are_shown(tmp_path):
    source = tmp_path / "03_z.ipynb"
    _notebook_with_solution(source)
    assert student.hide_solutions(source) == 1 and student.hide_solutions(source) == 0  # idempotent
    hidden = nbformat.read(str(source), as_version=4).cells[1]
    assert hidden.metadata["jupyter"]["source_hidden"] is True and hidden.metadata["cellView"] == "form"
    assert hidden.source.startswith("# @title Solution") and hidden.source.endswith(SOLUTION)
    namespace = {}
    exec(hidden.source, namespace)  # the title is a comment: the solution runs as before
    assert namespace["value"] == 0.0
    make_student_version(source, tmp_path / "student" / "03_z.ipynb")
    stub = nbformat.read(str(tmp_path / "student" / "03_z.ipynb"), as_version=4).cells[1]
    assert "cellView" not in stub.metadata and "jupyter" not in stub.metadata
    assert "@title" not in stub.source and "NotImplementedError" in stub.source


def test_every_committed_solution_cell_is_hidden():
    from pathlib import Path

    notebooks = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    solutions = 0
    for path in notebooks:
        for index, cell in enumerate(nbformat.read(str(path), as_version=4).cells):
            if student.is_solution(cell):
                solutions += 1
                assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, (path.name, index)
                assert cell.metadata.get("cellView") == "form" and cell.source.startswith("# @title"), (path.name, index)
    assert solutions >= 20
