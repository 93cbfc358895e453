"""``genai-tf doctor``, ``student`` and ``site``: a room's set-up check and the instructor's tools.

``student`` and ``site`` are :mod:`genai_tf.course`, which needs the ``course`` extra
(``pip install "genai-tf[course]"``); without it they say so in one line.
"""

from __future__ import annotations

from pathlib import Path


def doctor(args) -> int:
    """Print versions, devices and offline datasets, then train a tiny VAE for ~5 s."""
    from genai_tf import doctor as setup_check

    report = setup_check.environment_report()
    print(setup_check.format_report(report))
    print("training smoke test: conv VAE on digits ...", flush=True)
    result = setup_check.training_smoke_test(seconds=5.0)
    print(setup_check.format_training(result))
    ok = result["ok"] and not report["problems"]
    print("doctor: all checks passed" if ok else "doctor: a check failed")
    return 0 if ok else 1


def student(args) -> int:
    """Write student copies of notebooks, with every ``solution`` cell replaced by a stub."""
    from genai_tf import course

    course.require("student", "nbformat")
    from genai_tf.course.student import make_student_version

    output = Path(args.output)
    for notebook in args.notebooks:
        if not Path(notebook).is_file():
            raise FileNotFoundError(f"No notebook at {notebook}.")
        target = output / Path(notebook).name
        count = make_student_version(notebook, target)
        print(f"{target}: {count} solution cells replaced by stubs")
    return 0


def site(args) -> int:
    """Render the notebooks and the course map as HTML pages in ``--output``, readable offline."""
    from genai_tf import course

    course.require("site", "nbformat", "nbconvert")
    from genai_tf.course import site as course_site

    notebooks = Path(args.notebooks) if args.notebooks is not None else course_site.default_notebooks_dir()
    pages = course_site.build_site(notebooks, Path(args.output))
    print(f"{pages[0]}: the course map and {len(pages) - 1} notebook pages from {notebooks}; "
          "open it in a browser (nothing is loaded from the network)")
    return 0
