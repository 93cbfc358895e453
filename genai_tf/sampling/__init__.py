"""Sampling from trained models: noise schedules, the one diffusion reverse loop, text decoding.

- :mod:`genai_tf.sampling.schedules`: the noise schedules ᾱ_t and β_t (Eqs. DM.2, DM.4, DM.5).
- :mod:`genai_tf.sampling.diffusion`: the DDPM/DDIM updates, guidance, and the reverse loop
  with a step hook that every diffusion sampler runs through (notebook 07).
- :mod:`genai_tf.sampling.mixture`: what guidance aims at on a Gaussian mixture, p(x|y) p(y|x)^w
  normalised on a grid, and a sample's distance from it (notebook 07).
- :mod:`genai_tf.sampling.text`: temperature, top-k and top-p decoding of next-character
  logits (notebook 08).
"""

from genai_tf.sampling import diffusion, mixture, schedules, text

__all__ = ["diffusion", "mixture", "schedules", "text"]
