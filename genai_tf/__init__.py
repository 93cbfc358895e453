"""genai_tf: the helper package of the genai-tf course (Keras 3 on TensorFlow).

Importing it has no side effects: no seeding, no downloads, no logging set-up.
Submodules are imported explicitly, e.g. ``from genai_tf import losses``.
"""

__version__ = "0.1.0"
