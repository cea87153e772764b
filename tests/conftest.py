"""Shared pytest set-up."""

import os

from absl import flags
import hypothesis

# absltest's create_tempdir and friends read absl flags, which pytest never
# parses.
flags.FLAGS.mark_as_parsed()

# No window or audio device in tests (pygame is imported by human play).
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# Keep TensorFlow (imported by meltingpot) quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# CI replays a fixed set of examples so that a green build stays green;
# local runs keep exploring new ones.
hypothesis.settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis.settings.register_profile("dev", deadline=None)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "dev")
