"""The instructor's tools, apart from the library the notebooks use.

- :mod:`~genai_tf.course.student`: student copies of the notebooks, every solution cell a stub
  (``genai-tf student``), and the hidden solution cells of the committed notebooks;
- :mod:`~genai_tf.course.site`: the course as a static HTML site that works offline
  (``genai-tf site``).

They need the ``course`` extra (nbformat, nbconvert and MathJax), which the notebooks do not:
``pip install "genai-tf[course]"`` (the ``dev`` extra includes it).
"""

from __future__ import annotations

import importlib

INSTALL = 'pip install "genai-tf[course]"'


def require(command: str, *modules: str) -> None:
    """Import ``modules``, or raise a one-line RuntimeError saying which extra ``genai-tf COMMAND`` needs."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise RuntimeError(f"`genai-tf {command}` needs {module}, which is not installed: "
                               f"{INSTALL}.") from None
