"""The ``genai-tf`` command: ``doctor``, ``train``, ``sample``, ``score``, ``evaluate``, ``student`` and ``site``.

For instructors pre-training checkpoints before a class, for a room's set-up check, and for
the benchmarks::

    genai-tf doctor
    genai-tf train vae --dataset mnist --epochs 30 --output checkpoints/vae
    genai-tf train dcgan --dataset mnist --minutes 15 --output checkpoints/dcgan
    genai-tf sample checkpoints/vae --num 64 --output samples.npy
    genai-tf evaluate samples.npy --dataset mnist
    genai-tf sample checkpoints/cvae --num 10 --labels 0,1,2,3,4,5,6,7,8,9 --output digits.npy
    genai-tf train diffusion --dataset mnist --minutes 30 --clock cpu --output checkpoints/mnist/diffusion
    genai-tf sample checkpoints/mnist/diffusion --num 10000 --steps 25 --output samples.npy
    genai-tf sample checkpoints/mnist/diffusion --num 100 --labels 7 --guidance 1 --output sevens.npy
    genai-tf student notebooks/*.ipynb --output student/
    genai-tf train transformer --text plays.txt --minutes 20 --output checkpoints/text/transformer
    genai-tf sample checkpoints/text/transformer --prompt "ROMEO:" --length 300 --temperature 0.8
    genai-tf score checkpoints/text/transformer --text held_out.txt --json
    genai-tf site --output site/

``train`` checkpoints into ``--output`` as it goes; the same command run again after a kill
resumes where it stopped (``--fresh`` starts over). Exit status: 0 on success, 1 when the
command fails while running (missing or corrupt files, data that can't be had, a NaN loss),
2 for a usage error (a bad option or value); either error is one line on stderr, as TensorFlow's
C++ start-up logging is silenced. Set ``GENAI_TF_DEBUG=1`` for full tracebacks and that logging.

The modules: :mod:`~genai_tf.cli.parser` (the options and their types; building it imports
neither TensorFlow nor Keras, so ``genai-tf --help`` is quick), :mod:`~genai_tf.cli.training`
(``train``, ``pretrain``), :mod:`~genai_tf.cli.sampling` (``sample``, ``score``, ``evaluate``) and
:mod:`~genai_tf.cli.course` (``doctor``, ``student``, ``site``); this one runs them.
"""

from __future__ import annotations

import os
import sys

from genai_tf.cli import course, sampling, training
from genai_tf.cli.parser import DATASET_HELP, UsageError, build_parser

__all__ = ["DATASET_HELP", "UsageError", "build_parser", "main", "quiet_tensorflow"]

# command -> (handler, whether it runs TensorFlow)
COMMANDS = {
    "doctor": (course.doctor, True),
    "train": (training.train, True),
    "pretrain": (training.pretrain, True),
    "sample": (sampling.sample, True),
    "score": (sampling.score, True),
    "evaluate": (sampling.evaluate, True),
    "student": (course.student, False),
    "site": (course.site, False),
}


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ logging silenced, unless ``GENAI_TF_DEBUG`` asks for it.

    ``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's own logging once it is set up, but the lines
    its libraries log while they load ("All log messages before absl::InitializeLog() is called
    are written to STDERR", oneDNN's and CUDA's notes) go to file descriptor 2 regardless, so the
    import runs with that descriptor pointed at ``/dev/null``. An import that fails still raises
    (and its traceback is printed after the descriptor is restored).
    """
    from genai_tf import config

    if config.debug() or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit with status 2
    from genai_tf import config

    try:
        config.get_profile()  # a bad GENAI_TF_PROFILE is a usage error, said once
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    handler, runs_tensorflow = COMMANDS[args.command]
    try:
        if runs_tensorflow:
            quiet_tensorflow()
        return handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError, FloatingPointError, RuntimeError) as error:
        # RuntimeError covers data.DatasetUnavailableError; OSError missing and unwritable files.
        if config.debug():
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
