"""Tests of the static course site, ``genai-tf site``: the pages, that they load nothing from the
network, their figures and links, the errors, and the real pages in headless Chromium."""

import contextlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from genai_tf import cli
from genai_tf.course import INSTALL
from genai_tf.course import site as course_site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob(course_site.NOTEBOOK_PATTERN))
# Tags whose URL attributes a browser fetches by itself when it shows a page.
LOADING_ATTRIBUTES = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
                      "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",),
                      "embed": ("src",), "object": ("data",), "track": ("src",)}
BROWSER_BUDGET_MS = 60_000  # virtual time: it advances only while the page is idle, so speed does not matter
SCREENSHOT_SIZE = (1280, 1600)


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser parses them."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def of(self, name):
        return [attributes for tag, attributes in self.tags if tag == name]


def is_remote(url):
    return bool(re.match(r"^\s*(?:https?:)?//", url, re.IGNORECASE))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The real course built once through the command line: (output folder, exit code, stdout)."""
    if not NOTEBOOKS:
        pytest.skip("no notebooks yet")
    output = tmp_path_factory.mktemp("site") / "site"
    code, out, err = run_cli(["site", "--output", output, "--notebooks", ROOT / "notebooks"])
    assert code == 0, err
    return output, code, out


@pytest.fixture(scope="module")
def pages(built):
    output = built[0]
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(output.glob("*.html"))}


def test_the_site_has_the_course_map_and_one_page_per_notebook(built, pages):
    output, _, out = built
    assert set(pages) == {"index.html"} | {f"{path.stem}.html" for path in NOTEBOOKS}
    assert f"the course map and {len(NOTEBOOKS)} notebook pages" in out
    for path in NOTEBOOKS:
        title = course_site.notebook_title(nbformat.read(path, as_version=4), path.name)
        assert f"<title>{html.escape(title, quote=False)}</title>" in pages[f"{path.stem}.html"], path.name


def test_no_page_loads_anything_from_the_web(pages):
    for name, text in pages.items():
        tags = Tags(text)
        for tag, attribute_names in LOADING_ATTRIBUTES.items():
            for attributes in tags.of(tag):
                for attribute in attribute_names:
                    assert not is_remote(attributes.get(attribute, "")), f"{name}: <{tag} {attributes}>"
        styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", text, re.DOTALL | re.IGNORECASE))
        assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", styles), f"{name}: a stylesheet fetches from the web"
        assert not re.search(r"@import", styles), f"{name}: a stylesheet imports another"
        assert not re.search(r"""import\(\s*["']https?:""", text), f"{name}: a script imports from the web"


def test_every_image_is_a_file_of_the_site(built, pages):
    output = built[0].resolve()
    for name, text in pages.items():
        for attributes in Tags(text).of("img"):
            source = attributes["src"]
            target = (output / source).resolve()
            assert target.is_relative_to(output) and target.is_file(), f"{name}: <img src={source!r}>"


def test_every_reference_figure_is_shown_from_the_local_copy(built, pages):
    output = built[0]
    for path in NOTEBOOKS:
        markdown = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                             if cell.cell_type == "markdown")
        wanted = set(re.findall(r"figures/([\w.-]+\.(?:png|jpe?g|svg|gif))", markdown))
        shown = {attributes["src"] for attributes in Tags(pages[f"{path.stem}.html"]).of("img")}
        assert {f"figures/{figure}" for figure in wanted} <= shown, path.name
        for figure in wanted:
            assert (output / "figures" / figure).read_bytes() == (path.parent / "figures" / figure).read_bytes()


def test_the_colab_badge_is_text_not_a_web_image(pages):
    page = pages[f"{NOTEBOOKS[0].stem}.html"]
    assert '<span class="site-badge">Open In Colab</span>' in page
    assert "colab-badge.svg" not in page


def test_mathjax_is_bundled_and_every_page_loads_it(built, pages):
    output = built[0]
    mathjax = output / "mathjax" / course_site.MATHJAX_FILE
    assert mathjax.is_file() and mathjax.stat().st_size > 1_000_000
    assert b"MathJax" in mathjax.read_bytes()
    assert (output / "mathjax" / "LICENSE").is_file()
    for name, text in pages.items():
        sources = [attributes.get("src") for attributes in Tags(text).of("script")]
        assert f"mathjax/{course_site.MATHJAX_FILE}" in sources, name
    # the TeX reaches the browser untouched, for MathJax to typeset
    assert any(r"\tag{" in text for text in pages.values())


def test_links_between_notebooks_point_at_the_pages(built, pages):
    output = built[0]
    for name, text in pages.items():
        for attributes in Tags(text).of("a"):
            href = attributes.get("href", "")
            if is_remote(href) or href.startswith(("#", "mailto:")) or not href:
                continue
            assert not href.split("#")[0].endswith(".ipynb"), f"{name}: {href}"
            assert (output / href.split("#")[0]).is_file(), f"{name} links to {href}, which the site lacks"


def test_the_course_map_links_every_page_under_its_title(pages):
    links = {attributes["href"] for attributes in Tags(pages["index.html"]).of("a")}
    for path in NOTEBOOKS:
        title = course_site.notebook_title(nbformat.read(path, as_version=4), path.name)
        assert f"{path.stem}.html" in links, path.name
        assert f'href="{path.stem}.html">{html.escape(title, quote=False)}</a>' in pages["index.html"], path.name


# --- small made-up courses: the titles, the errors, the rebuild ---------------------------------


def make_course(folder, cells_by_name, figures=("01_figure.png",)):
    """A notebooks folder with one notebook per entry (markdown cells) and a figures/ folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, cells in cells_by_name.items():
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text) for text in cells]
                                            + [nbformat.v4.new_code_cell("x = 1")])
        nbformat.write(notebook, folder / name)
    (folder / "figures").mkdir(exist_ok=True)
    for figure in figures:
        (folder / "figures" / figure).write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder


BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/x)"
FIGURE_URL = "https://raw.githubusercontent.com/OWNER/REPO/main/notebooks/figures/01_figure.png"


def test_a_small_course_is_rendered_with_its_titles_summaries_and_links(tmp_path):
    course = make_course(tmp_path / "notebooks", {
        "00_start.ipynb": [f"# 00 · Start\n\n{BADGE}\n\nThe first notebook, with $x$.\n\nMore.",
                           "Next: [the figure notebook](01_figure.ipynb#Results)."],
        "01_figure.ipynb": ["# 01 · A figure", f"![a figure]({FIGURE_URL})"]})
    before = {path: path.read_bytes() for path in course.glob("*.ipynb")}
    code, out, err = run_cli(["site", "--output", tmp_path / "site", "--notebooks", course])
    assert code == 0, err
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="00_start.html">00 · Start</a>' in index and "The first notebook, with $x$." in index
    first = (tmp_path / "site" / "00_start.html").read_text(encoding="utf-8")
    assert 'href="01_figure.html#Results"' in first and 'href="01_figure.html">01_figure →</a>' in first
    assert 'src="figures/01_figure.png"' in (tmp_path / "site" / "01_figure.html").read_text(encoding="utf-8")
    assert {path: path.read_bytes() for path in course.glob("*.ipynb")} == before  # read, never written


def test_solutions_are_folded_under_their_exercise(tmp_path):
    course = make_course(tmp_path / "notebooks", {"00_start.ipynb": ["# 00 · Start\n\nExercise: write f."]})
    notebook = nbformat.read(course / "00_start.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("# @title Solution (hidden)\ndef f(x):\n    return x < 2",
                                                    metadata={"tags": ["solution"]}))
    nbformat.write(notebook, course / "00_start.ipynb")
    code, _, err = run_cli(["site", "--output", tmp_path / "site", "--notebooks", course])
    assert code == 0, err
    page = (tmp_path / "site" / "00_start.html").read_text(encoding="utf-8")
    folded = page[page.index('<details class="solution">'):page.index("</details>")]
    assert "<summary>Solution: click to show</summary>" in folded and "return x &lt; 2" in folded
    assert "@title" not in page and page.count("return x &lt; 2") == 1  # only inside the fold


def test_building_again_replaces_the_previous_site(tmp_path):
    course = make_course(tmp_path / "notebooks", {"00_a.ipynb": ["# 00 · A"], "01_b.ipynb": ["# 01 · B"]})
    output = tmp_path / "site"
    assert run_cli(["site", "--output", output, "--notebooks", course])[0] == 0
    (course / "01_b.ipynb").unlink()
    assert run_cli(["site", "--output", output, "--notebooks", course])[0] == 0
    assert sorted(path.name for path in output.glob("*.html")) == ["00_a.html", "index.html"]


@pytest.mark.parametrize("case, message", [
    ("no folder", "No notebooks folder at"),
    ("no notebooks", "holds no notebooks named NN_topic.ipynb"),
    ("output is a file", "is a file: give a folder for the site"),
    ("output holds other files", "is not empty and holds no site built by `genai-tf site`"),
    ("missing figure", "00_a.ipynb shows the figure 00_gone.png, which is not in notebooks/figures/"),
    ("unknown notebook", "00_a.ipynb links to 09_later.ipynb, which is not one of the course's notebooks"),
    ("no heading", "00_a.ipynb has no markdown heading"),
    ("web image without alt text", "shows an image from the web with no alt text"),
])
def test_what_cannot_be_built_is_an_error_that_says_why(tmp_path, case, message):
    course, output = tmp_path / "notebooks", tmp_path / "site"
    first_cell = {"missing figure": "# 00 · A\n\n![gone](figures/00_gone.png)",
                  "unknown notebook": "# 00 · A\n\n[later](09_later.ipynb)",
                  "no heading": "Just text.",
                  "web image without alt text": "# 00 · A\n\n![](https://example.org/picture.png)"}
    if case != "no folder":
        make_course(course, {} if case == "no notebooks" else {"00_a.ipynb": [first_cell.get(case, "# 00 · A")]})
    if case == "output is a file":
        output.write_text("not a folder")
    if case == "output holds other files":
        output.mkdir()
        (output / "notes.txt").write_text("keep me")
    code, out, err = run_cli(["site", "--output", output, "--notebooks", course])
    assert code == 1 and message in err, err
    if case == "output holds other files":
        assert (output / "notes.txt").read_text() == "keep me"
    elif case != "output is a file":
        assert not output.exists(), "a failed build must not leave a half-written site"


@pytest.mark.parametrize("module", ["nbconvert", "nbformat"])
def test_missing_course_extra_is_one_line_naming_it(tmp_path, monkeypatch, module):
    notebooks = make_course(tmp_path / "notebooks", {"00_a.ipynb": ["# 00 · A"]})
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, module, None)  # import of the module now raises ImportError
        code, out, err = run_cli(["site", "--output", tmp_path / "site", "--notebooks", notebooks])
    assert code == 1 and out == "" and not (tmp_path / "site").exists()
    assert err == f"error: `genai-tf site` needs {module}, which is not installed: {INSTALL}.\n"
    assert INSTALL == 'pip install "genai-tf[course]"'


def test_missing_nbconvert_or_mathjax_is_named_with_its_install(tmp_path, monkeypatch):
    notebooks = make_course(tmp_path / "notebooks", {"00_a.ipynb": ["# 00 · A"]})
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "nbconvert", None)  # import nbconvert now raises ImportError
        with pytest.raises(RuntimeError, match="nbconvert, which is not installed") as error:
            course_site.build_site(notebooks, tmp_path / "site")  # the library says it too
    assert str(error.value).count("\n") == 0 and INSTALL in str(error.value)
    monkeypatch.setattr(course_site, "MATHJAX_DISTRIBUTION", "no-such-mathjax-package")
    code, _, err = run_cli(["site", "--output", tmp_path / "site", "--notebooks", notebooks])
    assert code == 1 and "pip install no-such-mathjax-package" in err and INSTALL in err
    assert err.count("\n") == 1


def test_the_default_notebooks_folder_is_the_courses():
    assert course_site.default_notebooks_dir().resolve() == (ROOT / "notebooks").resolve()


def test_a_missing_default_folder_says_to_pass_notebooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(course_site, "__file__", str(tmp_path / "genai_tf" / "course" / "site.py"))
    with pytest.raises(FileNotFoundError, match="--notebooks DIR"):
        course_site.default_notebooks_dir()


# --- the real pages in a real browser -------------------------------------------------------------

# Loads every page in an iframe, waits for MathJax's first typesetting, and writes what it found
# into <pre id="results"> for --dump-dom: the title, the typeset equations, TeX errors, TeX left
# untypeset ($ outside code), each image's decoded width, and any resource fetched from the web
# (Chromium's resource timing lists http(s) fetches, not file:// reads).
CHECK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>site check</title></head><body>
<pre id="results">pending</pre>
<script>
const pages = PAGES;
function leftoverTex(doc) {
  const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT), found = [];
  for (let node; (node = walker.nextNode());) {
    if (node.parentElement.closest("pre, code, script, style, mjx-container")) continue;
    if (node.textContent.includes("$")) found.push(node.textContent.trim().slice(0, 80));
  }
  return found;
}
function check(name) {
  return new Promise(resolve => {
    const frame = document.createElement("iframe");
    frame.style.width = "1200px";
    frame.style.height = "900px";
    frame.onload = () => {
      const win = frame.contentWindow, doc = frame.contentDocument;
      if (!(win.MathJax && win.MathJax.startup && win.MathJax.startup.promise)) {
        resolve([name, {error: "MathJax did not load"}]);
        return;
      }
      win.MathJax.startup.promise.then(() => resolve([name, {
        title: doc.title,
        heading: (doc.querySelector("h1") || {textContent: ""}).textContent,
        equations: doc.querySelectorAll("mjx-container").length,
        tex_errors: doc.querySelectorAll('mjx-merror, [data-mml-node="merror"]').length,
        leftover_tex: leftoverTex(doc),
        images: [...doc.images].map(image => [image.getAttribute("src"), image.complete ? image.naturalWidth : -1]),
        fetched_from_web: win.performance.getEntriesByType("resource").map(entry => entry.name)
                      .filter(url => !url.startsWith("file:")),
      }]), error => resolve([name, {error: "MathJax failed: " + error}]));
    };
    frame.src = name;
    document.body.appendChild(frame);
  });
}
Promise.all(pages.map(check)).then(results => {
  document.getElementById("results").textContent = JSON.stringify(Object.fromEntries(results));
});
</script></body></html>
"""


def chromium_or_skip():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium is not installed: `apt-get install chromium` (Debian's package "
                "`chromium`) to check the site in a browser")


def run_chromium(binary, profile, *arguments):
    command = [binary, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--virtual-time-budget={BROWSER_BUDGET_MS}", *map(str, arguments)]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish within 300 s: {' '.join(command)}")


@pytest.mark.slow
def test_every_page_renders_in_headless_chromium(built, tmp_path):
    binary = chromium_or_skip()
    site_copy = tmp_path / "site"  # the check page goes into a copy, beside the pages it loads
    shutil.copytree(built[0], site_copy)
    names = sorted(path.name for path in site_copy.glob("*.html"))
    (site_copy / "_check.html").write_text(CHECK_PAGE.replace("PAGES", json.dumps(names)), encoding="utf-8")
    result = run_chromium(binary, tmp_path / "profile", "--allow-file-access-from-files", "--dump-dom",
                          (site_copy / "_check.html").as_uri())
    match = re.search(r'<pre id="results">(.*?)</pre>', result.stdout, re.DOTALL)
    assert match and match[1] != "pending", f"the check page did not finish:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    found = json.loads(html.unescape(match[1]))
    assert sorted(found) == names

    markdown_with_math = {"index.html"}
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        if any("$" in cell.source for cell in notebook.cells if cell.cell_type == "markdown"):
            markdown_with_math.add(f"{path.stem}.html")
    for name, page in found.items():
        assert "error" not in page, f"{name}: {page}"
        if name == "index.html":
            assert page["title"] == course_site.COURSE_TITLE
        else:
            title = course_site.notebook_title(nbformat.read(ROOT / "notebooks" / name.replace(".html", ".ipynb"),
                                                             as_version=4), name)
            assert page["title"] == title and page["heading"].startswith(title), (name, page["title"])
        if name in markdown_with_math:
            assert page["equations"] > 0, f"{name}: MathJax typeset no equation"
        assert page["tex_errors"] == 0, f"{name}: {page['tex_errors']} equations MathJax could not parse"
        assert page["leftover_tex"] == [], f"{name}: TeX left untypeset: {page['leftover_tex']}"
        broken = [source for source, width in page["images"] if width <= 0]
        assert broken == [], f"{name}: images that did not load: {broken}"
        assert page["fetched_from_web"] == [], f"{name} fetched from the web: {page['fetched_from_web']}"
    assert sum(page["equations"] for page in found.values()) > 100
    assert sum(len(page["images"]) for page in found.values()) >= 1


@pytest.mark.slow
def test_a_screenshot_of_a_page_shows_it_drawn(built, tmp_path):
    from PIL import Image

    binary = chromium_or_skip()
    page = built[0] / "02_variational_autoencoder.html"
    if not page.is_file():
        page = built[0] / f"{NOTEBOOKS[0].stem}.html"
    screenshot = tmp_path / "site_screenshot.png"
    width, height = SCREENSHOT_SIZE
    result = run_chromium(binary, tmp_path / "profile", f"--window-size={width},{height}",
                          f"--screenshot={screenshot}", page.as_uri())
    assert screenshot.is_file(), result.stderr[-2000:]
    with Image.open(screenshot) as image:
        assert image.size == SCREENSHOT_SIZE
        grey = image.convert("L")
        drawn = sum(count for level, count in enumerate(grey.histogram()) if level < 128)
    assert drawn > 0.002 * width * height, "the screenshot is (almost) blank"
    destination = os.environ.get("GENAI_TF_SITE_SCREENSHOT")  # e.g. for a person to look at it
    if destination:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(screenshot, destination)
