"""The one way to train a model family, and what a run leaves behind.

- :mod:`~genai_tf.training.loop`: :func:`train` (epochs, steps or a time budget; TensorBoard;
  checkpoints; exact resume), the data a recipe trains on and the model it starts from;
- :mod:`~genai_tf.training.run_folder`: a run's folder (file names, atomic writes, loading) and
  :class:`TrainingRun`, the one summary of a run;
- :mod:`~genai_tf.training.resume`: what a checkpoint holds so that a killed run resumes exactly;
- :mod:`~genai_tf.training.callbacks`: the NaN guard, the time budget and the step and epoch clocks;
- :mod:`~genai_tf.training.schedule`: the learning-rate decay of a recipe.

``from genai_tf import training`` then ``training.train(...)``: the package offers the loop's
functions and the run summary by name.
"""

from genai_tf.training.loop import family_dataset, initial_model, model_input, settings, train
from genai_tf.training.run_folder import (
           MODEL_FILE,
           SUMMARY_FILE,
           CheckpointError,
           TrainingRun,
           load_model,
)

__all__ = ["MODEL_FILE", "SUMMARY_FILE", "CheckpointError", "TrainingRun", "family_dataset", "initial_model",
           "load_model", "model_input", "settings", "train"]
