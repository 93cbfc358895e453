"""``python -m genai_tf.cli ...``: the ``genai-tf`` command, for a Python without its script on PATH."""

import sys

from genai_tf.cli import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages does) runs nothing
    sys.exit(main())
