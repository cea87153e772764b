"""Seeded games give the rounds.jsonl they gave before the layered layout.

The files in tests/data/golden/ were written by `umd run` at commit d320463,
before issue 19 moved every module into layered subpackages, with the flags
named in `_GOLDEN`. A refactor must not change a byte of them; a change of
behaviour that should change them regenerates them with the same flags and
says so in its commit.
"""

import pathlib

from absl.testing import absltest
from absl.testing import parameterized

from tests import helpers

_GOLDEN = pathlib.Path(__file__).parent / "data" / "golden"
_RUNS = {
    # The README's main job: best_response followers, a flat 0.7 tax.
    "default_seed5": ("--seed", "5"),
    # The phi-conditioned PPO follower under CMA-ES, with fines.
    "ppo_conditioned_cma_seed3": (
        "--seed", "3", "--principal", "cma", "--bots", "ppo_conditioned",
        "--brackets", "1,2", "--max-rate", "4", "--phi0", "0,4,4"),
    # Skills and effort cost, a bandit principal and the Borda count.
    "unequal_ucb_borda_seed2": (
        "--seed", "2", "--substrate", "umd_apple_harvest__unequal", "--bots",
        "random,greedy", "--rule", "borda", "--principal", "ucb_constant"),
}


class GoldenRoundsTest(parameterized.TestCase):

  @parameterized.named_parameters((name, name, flags)
                                  for name, flags in _RUNS.items())
  def test_rounds_are_byte_identical(self, name, flags):
    out = self.create_tempdir().full_path + "/run"
    self.assertEqual(helpers.umd("run", "--quiet", *flags, "--out", out), 0)
    golden = (_GOLDEN / f"{name}.rounds.jsonl").read_bytes()
    self.assertEqual(pathlib.Path(out, "rounds.jsonl").read_bytes(), golden)


if __name__ == "__main__":
  absltest.main()
