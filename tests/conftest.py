"""Shared pytest set-up."""

import os

from absl import flags

# absltest's create_tempdir and friends read absl flags, which pytest never
# parses.
flags.FLAGS.mark_as_parsed()

# No window or audio device in tests (pygame is imported by human play).
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# Keep TensorFlow (imported by meltingpot) quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
