"""The course's real-MNIST benchmarks (not part of the package or of ``pytest``'s quick runs).

Run each as a module from the project root, e.g. ``python -m benchmarks.gan --data-dir ../shared/data``.
What they share (the machine description, training a family for a budget) is in
:mod:`benchmarks.common`; the training itself is :func:`genai_tf.training.train`.
"""
