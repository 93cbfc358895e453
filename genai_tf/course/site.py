"""The course as a static HTML site that works offline: ``genai-tf site --output site/``.

Each notebook ``notebooks/NN_topic.ipynb`` becomes the page ``NN_topic.html``, rendered by
nbconvert as it is committed (outputs stripped, never executed), and ``index.html`` is the
course map: one row per notebook, its title taken from its first markdown heading, its
summary from the paragraph under that heading. Nothing on a page is loaded from the network:

- equations are typeset in the browser by MathJax 3, copied into ``mathjax/`` from the
  ``django-static-mathjax`` package: one self-contained file with SVG output, so there are no
  web fonts to fetch (browsers refuse some font loads from ``file://`` pages);
- the reference figures, which the notebooks load from GitHub so that a notebook opened alone
  on Colab shows them, point at copies in ``figures/``;
- links between notebooks (``01_autoencoder.ipynb``) point at their pages;
- any other image on the web (the "Open in Colab" badge) is replaced by its alt text, inside
  the link it had.

A figure, image or notebook link that the site cannot serve is an error naming the notebook,
never a broken page. The output folder is marked as a built site; building again replaces it,
and a folder holding anything else is refused.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat

from genai_tf.course import INSTALL

NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"  # NN_topic.ipynb, in course order
COURSE_TITLE = "genai-tf: generative AI with Keras 3 on TensorFlow"
MARKER = ".genai-tf-site"  # marks an output folder this module built, so a rebuild may clear it
MATHJAX_DISTRIBUTION = "django-static-mathjax"  # MathJax 3 as a pip package, no dependencies
MATHJAX_FILE = "tex-svg-full.js"  # TeX input with every extension, SVG output, in one file
INDEX_CELL_NOTE = ("Each page is a notebook as it is committed, without outputs: run it in "
                   "Jupyter or on Colab to see its results. The reference figures come from full runs.")

# MathJax reads what JupyterLab reads: $…$ and \(…\) inline, $$…$$ and \[…\] displayed, and
# environments such as \begin{align} on their own; \tag{VAE.3} numbers an equation.
MATHJAX_CONFIG = r"""window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: "global"}
};"""

SITE_CSS = """
nav.site-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1200px;
  margin: 0 auto; padding: 0.6em 1em; font: 14px system-ui, sans-serif; }
nav.site-nav a { text-decoration: none; }
span.site-badge { display: inline-block; padding: 1px 8px; border-radius: 4px;
  background: #f9ab00; color: #202124; font: 600 13px system-ui, sans-serif; }
"""

# The page template: nbconvert's "lab" page without anything it would fetch from a CDN
# (require.js, widgets, MathJax 2, mermaid), with the local MathJax and a navigation bar.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js_requirejs %}{% endblock %}
{% block jupyter_widgets %}{% endblock %}
{% block html_head_js_mermaidjs %}{% endblock %}
{% block extra_css %}<style type="text/css">{{ resources.site.css }}</style>{% endblock %}
{% block html_head_js_mathjax %}
<script>{{ resources.site.mathjax_config }}</script>
<script defer src="{{ resources.site.mathjax_src }}"></script>
{% endblock %}
{% block body_header %}{{ super() }}{{ resources.site.nav }}{% endblock %}
{% block body_footer %}{{ resources.site.nav }}{{ super() }}{% endblock %}
"""

HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)
BADGE_PARAGRAPH = re.compile(r"^\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)$")  # [![alt](image)](link)
TAG = re.compile(r"<(?P<name>img|a)\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'\s(?P<name>src|href|alt)="(?P<value>[^"]*)"', re.IGNORECASE)
WEB = re.compile(r"^https?://", re.IGNORECASE)
# figures/NAME, or the raw-file URL tools/colab_links.py writes for it (any owner, repo, branch)
FIGURE = re.compile(r"^(?:https?://[^?#]+/notebooks/)?figures/(?P<name>[^/?#]+)$")
NOTEBOOK_LINK = re.compile(r"^(?:\./)?(?P<stem>[^/?#]+)\.ipynb(?P<fragment>#.*)?$")


def default_notebooks_dir() -> Path:
    """The course's ``notebooks/``: beside this package in a checkout, else under the current folder."""
    candidates = [Path(__file__).resolve().parents[2] / "notebooks", Path.cwd() / "notebooks"]
    for folder in candidates:
        if folder.is_dir() and any(folder.glob(NOTEBOOK_PATTERN)):
            return folder
    raise FileNotFoundError("No notebooks folder found: looked for NN_topic.ipynb files in "
                            + " and ".join(str(folder) for folder in candidates)
                            + ". Pass the course's notebooks folder with --notebooks DIR.")


def find_notebooks(folder: Path) -> list[Path]:
    """The notebooks ``NN_topic.ipynb`` in ``folder``, in course order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No notebooks folder at {folder}.")
    notebooks = sorted(folder.glob(NOTEBOOK_PATTERN))
    if not notebooks:
        raise FileNotFoundError(f"{folder} holds no notebooks named NN_topic.ipynb (e.g. 01_autoencoder.ipynb).")
    return notebooks


def notebook_title(notebook: nbformat.NotebookNode, name: str) -> str:
    """The text of the notebook's first markdown heading, e.g. ``01 · Autoencoders: …``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = HEADING.search(cell.source)
            if match:
                return match["title"]
    raise ValueError(f"{name} has no markdown heading: its first markdown cell should start "
                     "with '# NN · Title', which titles its page and its row in the course map.")


def notebook_summary(notebook: nbformat.NotebookNode) -> str:
    """The first paragraph after the title heading that is not the Colab badge, on one line."""
    for cell in notebook.cells:
        heading = HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if heading:
            for paragraph in re.split(r"\n\s*\n", cell.source[heading.end():]):
                paragraph = " ".join(paragraph.split())
                if paragraph and not BADGE_PARAGRAPH.match(paragraph) and not paragraph.startswith("#"):
                    return paragraph
            return ""
    return ""


def _attributes(tag: str) -> dict[str, str]:
    return {match["name"].lower(): html.unescape(match["value"]) for match in ATTRIBUTE.finditer(tag)}


def _with_attribute(tag: str, name: str, value: str) -> str:
    def replace(match):
        if match["name"].lower() != name:
            return match[0]
        return f' {match["name"]}="{html.escape(value, quote=True)}"'

    return ATTRIBUTE.sub(replace, tag)


def rewrite_links(page: str, name: str, stems: set[str], figures: set[str]) -> str:
    """``page`` with its images and notebook links pointed at the site's own files.

    ``name`` is the notebook's file name (for errors), ``stems`` the notebooks that have pages
    and ``figures`` the file names in ``figures/``.
    """

    def rewrite(match):
        tag = match[0]
        attributes = _attributes(tag)
        if match["name"].lower() == "img":
            source = attributes.get("src", "")
            figure = FIGURE.match(source)
            if figure:
                if figure["name"] not in figures:
                    raise FileNotFoundError(f"{name} shows the figure {figure['name']}, which is not in "
                                            "notebooks/figures/: add it there.")
                return _with_attribute(tag, "src", f"figures/{figure['name']}")
            if source.startswith("data:"):
                return tag
            if WEB.match(source):
                alt = attributes.get("alt", "").strip()
                if not alt:
                    raise ValueError(f"{name} shows an image from the web with no alt text ({source}): "
                                     "the offline site shows such images as their alt text, so give it one.")
                return f'<span class="site-badge">{html.escape(alt)}</span>'
            raise FileNotFoundError(f"{name} shows the image {source!r}; the site serves only "
                                    "notebooks/figures/: put the image there and show it as figures/NAME.")
        link = NOTEBOOK_LINK.match(attributes.get("href", ""))
        if not link:
            return tag
        if link["stem"] not in stems:
            raise FileNotFoundError(f"{name} links to {link['stem']}.ipynb, which is not one of the "
                                    "course's notebooks.")
        return _with_attribute(tag, "href", f"{link['stem']}.html{link['fragment'] or ''}")

    return TAG.sub(rewrite, page)


def _navigation(stems: list[str], index: int | None) -> str:
    """The bar above and below page ``index``: previous notebook, course map, next notebook."""
    if index is None:
        return ""
    previous = f'<a href="{stems[index - 1]}.html">← {stems[index - 1]}</a>' if index > 0 else "<span></span>"
    following = (f'<a href="{stems[index + 1]}.html">{stems[index + 1]} →</a>'
                 if index + 1 < len(stems) else "<span></span>")
    return f'<nav class="site-nav">{previous}<a href="index.html">Course map</a>{following}</nav>'


def _exporter():
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        raise RuntimeError("`genai-tf site` renders the notebooks with nbconvert, which is not "
                           f"installed: {INSTALL}.") from None
    exporter = HTMLExporter(template_name="lab", exclude_input_prompt=True)  # nothing ran: no "[ ]:"
    exporter.raw_template = PAGE_TEMPLATE  # extends the lab template's index.html.j2
    return exporter


def mathjax_folder() -> Path:
    """The folder of MathJax 3's browser builds (``es5/``) that ``django-static-mathjax`` installs."""
    from importlib import metadata

    try:
        distribution = metadata.distribution(MATHJAX_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise RuntimeError(f"`genai-tf site` copies MathJax from the {MATHJAX_DISTRIBUTION} package, which is "
                           f"not installed: {INSTALL} (or pip install {MATHJAX_DISTRIBUTION}).") from None
    for file in distribution.files or []:
        if file.name == MATHJAX_FILE and file.parent.name == "es5":
            return Path(distribution.locate_file(file)).parent
    raise RuntimeError(f"The {MATHJAX_DISTRIBUTION} package has no es5/{MATHJAX_FILE}: reinstall it "
                       f"(pip install --force-reinstall {MATHJAX_DISTRIBUTION}).")


def _prepare_output(output: Path) -> None:
    """Make ``output`` an empty folder: new, empty, or a site built before (then cleared)."""
    if output.exists() and not output.is_dir():
        raise NotADirectoryError(f"--output {output} is a file: give a folder for the site.")
    if output.is_dir() and any(output.iterdir()):
        if not (output / MARKER).is_file():
            raise FileExistsError(f"--output {output} is not empty and holds no site built by "
                                  "`genai-tf site`: choose a new or empty folder.")
        for entry in output.iterdir():  # the previous build's pages, figures and MathJax
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("Built by `genai-tf site`; building again replaces this folder.\n",
                                 encoding="utf-8")


def _index_notebook(rows: list[tuple[str, str, str]]) -> nbformat.NotebookNode:
    """The course map as a one-cell notebook, so it is rendered like every other page."""
    lines = [f"# {COURSE_TITLE}", "", INDEX_CELL_NOTE, "", "| notebook | what it covers |", "|---|---|"]
    for stem, title, summary in rows:  # a | inside a table cell must be written \|
        title, summary = title.replace("|", "\\|"), summary.replace("|", "\\|")
        lines.append(f"| [{title}]({stem}.ipynb) | {summary} |")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("\n".join(lines))])
    notebook.metadata["title"] = COURSE_TITLE
    return notebook


def fold_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose solution cells are folded: each becomes a closed
    ``<details>`` block ("Solution: click to show") holding its code, as the notebooks hide them
    in Jupyter and Colab (``genai_tf.course.student``), so a reader sees the exercise before its answer."""
    import copy
    import html

    from genai_tf.course.student import is_solution

    folded = copy.deepcopy(notebook)
    for index, cell in enumerate(folded.cells):
        if is_solution(cell):
            code = "\n".join(line for line in cell.source.split("\n") if not line.startswith("# @title"))
            folded.cells[index] = nbformat.v4.new_markdown_cell(
                '<details class="solution"><summary>Solution: click to show</summary>\n'
                f'<pre><code class="language-python">{html.escape(code)}</code></pre>\n</details>')
    return folded


def build_site(notebooks_dir: Path, output: Path) -> list[Path]:
    """Render every notebook in ``notebooks_dir`` and the course map into ``output``.

    Returns the pages written, ``index.html`` first. Reads the notebooks and never changes them.
    """
    notebooks_dir, output = Path(notebooks_dir), Path(output)
    paths = find_notebooks(notebooks_dir)
    exporter = _exporter()
    mathjax = mathjax_folder()
    figures_dir = notebooks_dir / "figures"
    figures = {path.name for path in figures_dir.iterdir() if path.is_file()} if figures_dir.is_dir() else set()
    stems = [path.stem for path in paths]
    notebooks = [fold_solutions(nbformat.read(path, as_version=4)) for path in paths]
    rows = [(path.stem, notebook_title(notebook, path.name), notebook_summary(notebook))
            for path, notebook in zip(paths, notebooks)]

    # Render everything before touching the output, so an error leaves it as it was; the
    # notebooks before the course map, so an error in a summary names its own notebook.
    rendered = {}
    for index, (stem, notebook) in enumerate([*zip(stems, notebooks), ("index", _index_notebook(rows))]):
        if stem != "index":
            notebook.metadata["title"] = rows[index][1]  # the page's <title>; the file is not written
        resources = {"site": {"css": SITE_CSS, "mathjax_config": MATHJAX_CONFIG,
                              "mathjax_src": f"mathjax/{MATHJAX_FILE}",
                              "nav": _navigation(stems, None if stem == "index" else index)}}
        page, _ = exporter.from_notebook_node(notebook, resources=resources)
        rendered[f"{stem}.html"] = rewrite_links(page, f"{stem}.ipynb", set(stems), figures)

    _prepare_output(output)
    written = []
    for file_name, page in sorted(rendered.items(), key=lambda item: item[0] != "index.html"):
        (output / file_name).write_text(page, encoding="utf-8")
        written.append(output / file_name)
    if figures:
        (output / "figures").mkdir()
        for figure in sorted(figures):
            shutil.copy2(figures_dir / figure, output / "figures" / figure)
    (output / "mathjax").mkdir()
    shutil.copy2(mathjax / MATHJAX_FILE, output / "mathjax" / MATHJAX_FILE)
    license_file = mathjax.parent / "LICENSE"  # MathJax is Apache-2.0: its licence goes with it
    if license_file.is_file():
        shutil.copy2(license_file, output / "mathjax" / "LICENSE")
    return written
