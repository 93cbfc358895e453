"""Student versions of the notebooks: every ``solution``-tagged cell is replaced by a stub.

A solution cell's top-level functions keep their signature and docstring and get the body
``raise NotImplementedError``, so the exercise's self-check cell answers "not implemented
yet" until the learner fills it in. Imports are kept; any other code in the cell becomes a
comment telling the learner what to write. Used by ``genai-tf student NOTEBOOK... --output DIR``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOLUTION_TAG = "solution"
# How a solution cell hides its code until asked: JupyterLab and Notebook 7 collapse the input
# (metadata jupyter.source_hidden); Colab shows a cell with cellView "form" and a "@title" line as
# its title only (double-click, or "Show code", to read it).
SOLUTION_TITLE = "# @title Solution (hidden: double-click or use Show code to read it)"


def hide_solution(cell) -> bool:
    """Give a solution cell the metadata and title line that hide its code; True if it changed."""
    before = (cell.source, dict(cell.metadata))
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    cell.metadata["cellView"] = "form"
    if not cell.source.startswith("# @title"):
        cell.source = SOLUTION_TITLE + "\n" + cell.source
    return (cell.source, dict(cell.metadata)) != before


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and SOLUTION_TAG in cell.metadata.get("tags", [])


def hide_solutions(notebook_path) -> int:
    """Hide every solution cell of a notebook file in place; return how many changed."""
    import nbformat

    notebook = nbformat.read(str(notebook_path), as_version=4)
    changed = sum(hide_solution(cell) for cell in notebook.cells if is_solution(cell))
    if changed:
        nbformat.write(notebook, str(notebook_path))
    return changed


def stub_source(source: str) -> str:
    """Turn a solution cell's source into a stub with the same function signatures."""
    tree = ast.parse(source)
    lines = source.splitlines()
    pieces = ["# Exercise: write your solution here, then run the check cell below."]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body_start = node.body[0]
            has_docstring = (isinstance(body_start, ast.Expr)
                             and isinstance(getattr(body_start, "value", None), ast.Constant)
                             and isinstance(body_start.value.value, str))
            header_end = body_start.end_lineno if has_docstring else node.body[0].lineno - 1
            first = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            pieces.append("\n".join(lines[first:header_end]))
            indent = " " * (node.body[0].col_offset)
            pieces.append(f'{indent}raise NotImplementedError("write {node.name} and run the check")')
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            pieces.append(ast.get_source_segment(source, node))
        else:
            segment = ast.get_source_segment(source, node) or ""
            pieces.append("# " + segment.splitlines()[0] + ("  ..." if "\n" in segment else "")
                          if segment else "")
    return "\n".join(piece for piece in pieces if piece) + "\n"


def make_student_version(notebook_path, output_path) -> int:
    """Write a copy of a notebook with its solution cells stubbed; return how many were."""
    import nbformat

    notebook = nbformat.read(str(notebook_path), as_version=4)
    count = 0
    for cell in notebook.cells:
        if is_solution(cell):
            cell.source = stub_source(cell.source)
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG] + ["exercise"]
            cell.metadata.pop("cellView", None)  # the learner's stub is shown, not hidden
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
            if not cell.metadata.get("jupyter", True):
                del cell.metadata["jupyter"]
            cell.outputs = []
            cell.execution_count = None
            count += 1
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(output_path))
    return count
