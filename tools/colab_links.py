"""Write what each notebook needs to work when it is opened alone, as on Colab, from the one
project URL in pyproject.toml (``Source`` under ``[project.urls]``):

- the guarded set-up cell, which installs an instructor's wheel (``genai_tf-*.whl`` beside
  the notebook or in Colab's working folder ``/content``) or else the project from that URL;
- an "Open in Colab" badge under the title;
- reference-figure links as raw-file URLs (on Colab ``figures/…`` has nothing to point at);
- ``%tensorboard`` folders taken from ``config.runs_root()``, where the runs really go.

Run it after changing the URL, adding a notebook or adding a figure::

    python tools/colab_links.py           # rewrite the notebooks that differ
    python tools/colab_links.py --check   # list what differs, exit 1 (tests/test_colab_links.py)

Only those cells change; each notebook is read just before it is written back in its own
JSON layout (indent 1, UTF-8, trailing newline).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "main"  # the branch the badges and figure links point at
WHEEL_PATTERN = "genai_tf-*.whl"
COLAB_GUARD = '"google.colab" in sys.modules'
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
GITHUB = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?")
# ![alt](figures/NAME) or an image link this script wrote before (any owner, repo and branch)
FIGURE_LINK = re.compile(
    r"(!\[[^\]]*\]\()(?:figures/|https://raw\.githubusercontent\.com/[^/)]+/[^/)]+/[^/)]+/notebooks/figures/)"
    r"([^)\s]+)\)")
TENSORBOARD_NOTE = "# IPython fills in {...}: the folder callbacks.training_callbacks writes its runs to"
TENSORBOARD = re.compile(r"^(?:# IPython fills in .*\n)?%tensorboard --logdir (?P<logdir>.+)$", re.MULTILINE)


def project_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The GitHub URL under ``[project.urls] Source``, without a trailing slash or ``.git``."""
    urls = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"].get("urls", {})
    if "Source" not in urls:
        raise SystemExit(f"{pyproject}: add the repository's URL as Source under [project.urls], "
                         'e.g. Source = "https://github.com/OWNER/REPO"')
    match = GITHUB.fullmatch(urls["Source"].strip())
    if not match:
        raise SystemExit(f"{pyproject}: [project.urls] Source = {urls['Source']!r} is not a GitHub "
                         "repository URL like https://github.com/OWNER/REPO; Colab badges and raw "
                         "figure links need one")
    return f"https://github.com/{match['owner']}/{match['repo']}"


def setup_cell(url: str) -> str:
    """The source of the guarded set-up cell: an instructor's wheel if there is one, else ``url``."""
    return f'''import sys

if {COLAB_GUARD}:  # Colab only: install the course's helper package
    from pathlib import Path

    wheels = [*Path.cwd().glob("{WHEEL_PATTERN}"), *Path("/content").glob("{WHEEL_PATTERN}")]
    if wheels:  # a wheel from your instructor, beside this notebook or in /content: the newest
        source = str(max(wheels, key=lambda wheel: wheel.stat().st_mtime))
    else:       # otherwise the course's source
        source = "genai-tf @ git+{url}"
    print("installing", source)
    %pip install -q "{{source}}"'''


def badge(url: str, notebook: str) -> str:
    """The markdown "Open in Colab" badge for ``notebooks/<notebook>``."""
    path = url.removeprefix("https://github.com/")
    return (f"[![Open In Colab]({BADGE_IMAGE})]"
            f"(https://colab.research.google.com/github/{path}/blob/{BRANCH}/notebooks/{notebook})")


def figure_url(url: str, name: str) -> str:
    """The raw-file URL of ``notebooks/figures/<name>``, which renders on Colab and in Jupyter."""
    path = url.removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{path}/{BRANCH}/notebooks/figures/{name}"


def tensorboard_line(notebook_stem: str, logdir: str) -> str:
    """``%tensorboard`` on ``config.runs_root()``, or on its ``<notebook_stem>`` folder when
    ``logdir`` already pointed there (notebook 00 shows every notebook's runs)."""
    own_folder = logdir.strip().strip("\"'").rstrip("/").endswith("/" + notebook_stem)
    suffix = "/" + notebook_stem if own_folder else ""
    return f'{TENSORBOARD_NOTE}\n%tensorboard --logdir "{{config.runs_root()}}{suffix}"'


def _with_badge(title: str, line: str) -> str:
    heading, _, body = title.partition("\n")
    body = body.lstrip("\n")
    if body.startswith("[![Open In Colab]"):  # the badge this script wrote before
        body = body.partition("\n")[2].lstrip("\n")
    return f"{heading}\n\n{line}\n\n{body}"


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def updated_cells(notebook: dict, name: str, url: str, figures: Path) -> tuple[dict, list[str]]:
    """``{cell index: new source}`` for the cells of ``notebook`` (file ``name``) that differ from
    what ``url`` implies, and the problems the script cannot fix (e.g. a missing figure)."""
    cells, changes, problems = notebook["cells"], {}, []
    setup = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"
             and COLAB_GUARD in "".join(cell["source"])]
    first_code = next((i for i, cell in enumerate(cells) if cell["cell_type"] == "code"), None)
    if setup != [first_code]:
        problems.append(f"{name}: the first code cell must be the one Colab set-up cell "
                        f"(guarded by {COLAB_GUARD}); found it in cells {setup}")
    else:
        changes[first_code] = setup_cell(url)
    if cells and cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# "):
        changes[0] = _with_badge("".join(cells[0]["source"]), badge(url, name))
    else:
        problems.append(f"{name}: cell 0 must be the markdown title ('# NN · ...') for the badge")
    stem = Path(name).stem
    for i, cell in enumerate(cells):
        text = changes.get(i, "".join(cell["source"]))
        if cell["cell_type"] == "markdown":
            for match in FIGURE_LINK.finditer(text):
                if not (figures / match[2]).is_file():
                    problems.append(f"{name} cell {i}: figure {match[2]} is not in {figures}")
            text = FIGURE_LINK.sub(lambda m: f"{m[1]}{figure_url(url, m[2])})", text)
        elif cell["cell_type"] == "code":
            text = TENSORBOARD.sub(lambda m: tensorboard_line(stem, m["logdir"]), text)
        if i in changes or text != "".join(cell["source"]):
            changes[i] = text
    return {i: text for i, text in changes.items() if text != "".join(cells[i]["source"])}, problems


def sync(folder: Path = ROOT / "notebooks", pyproject: Path = ROOT / "pyproject.toml",
         check: bool = False) -> tuple[list[str], list[str]]:
    """Rewrite (with ``check``, only compare) every notebook in ``folder`` against ``pyproject``'s
    URL. Returns ``(changed, problems)``: one line per cell that differs(ed) and per problem
    the script cannot fix; both are empty when everything agrees."""
    url, changed, problems = project_url(pyproject), [], []
    for path in sorted(Path(folder).glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))  # read just before writing
        changes, found = updated_cells(notebook, path.name, url, Path(folder) / "figures")
        problems += found
        changed += [f"{path.name} cell {i}: " + ("not what " + url + " implies" if check else "rewritten")
                    for i in sorted(changes)]
        if changes and not check:
            for i, text in changes.items():
                notebook["cells"][i]["source"] = _lines(text)
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the differences; exit 1 if any")
    args = parser.parse_args(argv)
    changed, problems = sync(check=args.check)
    print("\n".join(changed + problems) or f"every notebook agrees with {project_url()}")
    if args.check and changed:
        print("run `python tools/colab_links.py` to rewrite them")
    return 1 if problems or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
