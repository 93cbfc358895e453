"""Learners' self-checks for the notebooks' exercises: one engine, one module per notebook.

- :mod:`~genai_tf.exercises.engine` runs a check: it calls the learner's function on cases with
  a known answer, compares, and returns a :class:`~genai_tf.exercises.engine.CheckResult` that
  prints ``PASS`` or what is wrong with a hint (naming a typical mistake when the answer matches
  one), and is truthy only on a pass.
- One module per notebook, named for its topic, holds that notebook's checks: ``start_here``
  (00), ``autoencoder`` (01), ``variational_autoencoder`` (02), ``gan`` (03),
  ``variational_generative_networks`` (04), ``evaluation`` (05), ``wasserstein_gans`` (06),
  ``diffusion`` (07), ``autoregressive_text`` (08).

A notebook imports its own module under one name, e.g.
``from genai_tf.exercises import gan as checks``, then ``assert checks.discriminator_loss(fn)``.
A new notebook adds one module here.
"""
