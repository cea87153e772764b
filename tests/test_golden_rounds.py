"""Seeded games give the rounds.jsonl they gave before the layered layout.

The files in tests/data/golden/ were written by `umd run` at commit d320463,
before issue 19 moved every module into layered subpackages, with the flags
named in `_GOLDEN`. A refactor must not change them; a change of behaviour
that should change them regenerates them with the same flags and says so in
its commit. Every key, string, integer and the order of everything must be
the same; a float may differ in its last bit or two (1e-12 relative), the
amount by which NumPy's vectorised exp and log differ between CPUs (the
power mean of a round differed in its 16th digit on another machine).
"""

import json
import math
import pathlib
from typing import Any

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
  def test_rounds_are_identical(self, name, flags):
    out = self.create_tempdir().full_path + "/run"
    self.assertEqual(helpers.umd("run", "--quiet", *flags, "--out", out), 0)
    golden = (_GOLDEN / f"{name}.rounds.jsonl").read_text().splitlines()
    played = pathlib.Path(out, "rounds.jsonl").read_text().splitlines()
    self.assertLen(played, len(golden))
    for line, (got, want) in enumerate(zip(played, golden)):
      _assert_same(json.loads(got), json.loads(want), f"line {line + 1}")

  def test_a_changed_value_is_caught(self):
    want = {"phi": [0.7, 0.7], "objective": "nash", "round": 1}
    for got in ({"phi": [0.7, 0.70001], "objective": "nash", "round": 1},
                {"phi": [0.7, 0.7], "objective": "nash", "round": 2},
                {"objective": "nash", "phi": [0.7, 0.7], "round": 1}):
      with self.assertRaises(AssertionError):
        _assert_same(got, want, "here")
    _assert_same({"phi": [0.7, 0.7 * (1 + 1e-15)], "objective": "nash",
                  "round": 1}, want, "here")


def _assert_same(got: Any, want: Any, where: str) -> None:
  """Equal JSON, in the same key order, floats to 1e-12 relative."""
  if isinstance(want, float) and isinstance(got, float):
    if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300):
      raise AssertionError(f"{where}: {got!r} != {want!r}")
  elif isinstance(want, dict) and isinstance(got, dict):
    if list(got) != list(want):
      raise AssertionError(f"{where}: keys {list(got)} != {list(want)}")
    for key in want:
      _assert_same(got[key], want[key], f"{where}/{key}")
  elif isinstance(want, list) and isinstance(got, list):
    if len(got) != len(want):
      raise AssertionError(f"{where}: {len(got)} items != {len(want)}")
    for index, (item, wanted) in enumerate(zip(got, want)):
      _assert_same(item, wanted, f"{where}[{index}]")
  elif type(got) is not type(want) or got != want:
    raise AssertionError(f"{where}: {got!r} != {want!r}")


if __name__ == "__main__":
  absltest.main()
