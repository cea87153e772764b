"""The constant-arm bandits (`ucb_constant`, `epsilon_greedy`, and the
forgetting `sw_ucb_constant`, `d_ucb_constant`): one flat schedule per game,
converging to the best one of a made-up game, and following it when it
moves."""

import dataclasses
import math
from typing import Callable, Optional

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from tests import helpers
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.principal import constant_arms

_NAMES = ("ucb_constant", "epsilon_greedy")
_SCHEDULE = principal_lib.TaxSchedule((0.0, 0.0), (1.0,), 4.0)
_ROUNDS = 3
# The made-up game's value peaks at a flat 2.4, arm 6 of 0, 0.4, ..., 4.
_BEST_RATE = 2.4


def _make(name: str, seed: int = 0, **options) -> principal_lib.Principal:
  return principal_lib.make_principal(name, schedule=_SCHEDULE, seed=seed,
                                      **options)


def _round(principal, round_index: int, objective: str, value_of,
           num_rounds=_ROUNDS) -> np.ndarray:
  """One round: propose, then feed back value_of(proposal)."""
  observation = principal_lib.RoundObservation(
      round_index=round_index, previous_rates=np.zeros(2),
      edges=_SCHEDULE.edges, max_rate=_SCHEDULE.max_rate,
      objective=objective)
  proposal = principal.propose(observation, objective)
  principal.update(principal_lib.RoundFeedback(
      round_index=round_index, objective=objective,
      objective_value=value_of(proposal), rates=proposal,
      returns=np.zeros(4), num_rounds=num_rounds))
  return proposal


def _games(principal, games: int, seed: int = 0,
           noise_scale: float = 0.5,
           value_of: Optional[Callable[[np.ndarray], float]] = None
           ) -> list[float]:
  """Plays `games` games of the noisy made-up game, in which the next arm
  is worth at least 0.64 less than the best (or of `value_of`, a round's
  value of its rates); the flat rate of each game."""
  noise = np.random.default_rng(seed + 100)

  def noisy_peak(rates: np.ndarray) -> float:
    return (-4.0 * float(rates[0] - _BEST_RATE) ** 2 +
            noise_scale * noise.standard_normal())

  value_of = value_of or noisy_peak
  played = []
  for _ in range(games):
    for round_index in range(_ROUNDS):
      rates = _round(principal, round_index, "utilitarian", value_of)
    played.append(float(rates[0]))
  return played


class ConvergenceTest(parameterized.TestCase):

  @parameterized.product(name=_NAMES, seed=(0, 1))
  def test_finds_the_best_flat_schedule_of_a_known_game(self, name, seed):
    principal = _make(name, seed=seed)
    played = _games(principal, 150, seed)
    self.assertEqual(principal.best_arm("utilitarian"), 6)
    # Most of the last games play the best arm, and frozen it is the pick.
    self.assertGreater(np.mean(np.isclose(played[-30:], _BEST_RATE)), 0.7)
    principal.set_learning(False)
    np.testing.assert_allclose(
        _round(principal, 0, "utilitarian", lambda r: 0.0), [_BEST_RATE] * 2)

  @parameterized.parameters(*_NAMES)
  def test_a_seed_gives_the_same_games(self, name):
    self.assertEqual(_games(_make(name, seed=4), 40),
                     _games(_make(name, seed=4), 40))

  def test_epsilon_zero_is_greedy_after_one_game_per_arm(self):
    principal = _make("epsilon_greedy", epsilon=0.0)
    played = _games(principal, 31, noise_scale=0.0)
    np.testing.assert_allclose(played[:11], np.linspace(0, 4, 11))
    np.testing.assert_allclose(played[11:], _BEST_RATE)


class ArmTest(parameterized.TestCase):

  @parameterized.parameters(*_NAMES)
  def test_arms_are_flat_from_zero_to_the_game_cap_by_default(self, name):
    principal = _make(name)
    np.testing.assert_allclose(principal.rates(1.0), np.linspace(0, 1, 11))
    np.testing.assert_allclose(principal.rates(4.0), np.linspace(0, 4, 11))
    # Arms above the game's cap are played at the cap.
    np.testing.assert_allclose(_make(name, top=2.0, arms=3).rates(1.0),
                               [0.0, 1.0, 1.0])

  def test_one_arm_is_held_for_the_game_and_credited_with_its_mean(self):
    principal = _make("ucb_constant")
    values = iter([1.0, 2.0, 6.0])
    proposals = [_round(principal, r, "utilitarian", lambda _: next(values))
                 for r in range(_ROUNDS)]
    for proposal in proposals:
      np.testing.assert_array_equal(proposal, [0.0, 0.0])
    self.assertEqual(principal.games("utilitarian")[0], 1)
    state = principal.state_dict()
    self.assertEqual(state["value_sums/utilitarian"][0], 3.0)
    # The next game pulls the next untried arm.
    np.testing.assert_allclose(
        _round(principal, 0, "utilitarian", lambda _: 0.0), [0.4, 0.4])

  def test_without_the_game_length_a_new_game_closes_the_last(self):
    principal = _make("ucb_constant")
    for round_index in range(4):
      _round(principal, round_index, "utilitarian", lambda _: 2.0,
             num_rounds=None)
    self.assertEqual(principal.games("utilitarian").sum(), 0)
    _round(principal, 0, "utilitarian", lambda _: 2.0, num_rounds=None)
    self.assertEqual(principal.games("utilitarian")[0], 1)

  def test_each_objective_holds_its_own_arm_within_a_game(self):
    principal = _make("ucb_constant")
    _games(principal, 1)  # Utilitarian has pulled arm 0 once.
    values = {"utilitarian": 5.0, "egalitarian": 1.0}
    played = {}
    for round_index, objective in enumerate(
        ("utilitarian", "egalitarian", "utilitarian")):
      played.setdefault(objective, []).append(_round(
          principal, round_index, objective, lambda _, o=objective:
          values[o])[0])
    self.assertEqual(played, {"utilitarian": [0.4, 0.4],
                              "egalitarian": [0.0]})
    self.assertEqual(principal.games("utilitarian")[1], 1)
    self.assertEqual(principal.games("egalitarian")[0], 1)

  @parameterized.parameters(*_NAMES, "sw_ucb_constant", "d_ucb_constant")
  def test_mid_game_checkpoint_restores_the_same_games(self, name):
    principal = _make(name, seed=2, arms=4)
    _games(principal, 70)  # Past sw_ucb's default window of 50 games.
    _round(principal, 0, "utilitarian", lambda _: 1.0)  # A game in progress.
    restored = _make(name, seed=2, arms=4)
    restored.load_state_dict(principal.state_dict())
    for copy in (principal, restored):
      _round(copy, 1, "utilitarian", lambda _: 1.0)
      _round(copy, 2, "utilitarian", lambda _: 1.0)
    self.assertEqual(_games(restored, 15, seed=9),
                     _games(principal, 15, seed=9))

  def test_a_checkpoint_with_another_arm_count_is_refused(self):
    principal = _make("ucb_constant")
    _games(principal, 2)
    with self.assertRaisesRegex(ValueError, "the checkpoint is for"):
      _make("ucb_constant", arms=5).load_state_dict(principal.state_dict())


_FORGETTING = (("sw_ucb_constant", "window", 10**6),
               ("d_ucb_constant", "discount", 1.0))


class ForgettingTest(parameterized.TestCase):
  """Sliding-window and discounted UCB, for followers that keep adapting."""

  @parameterized.parameters(*_FORGETTING)
  def test_without_forgetting_it_plays_exactly_as_ucb(self, name, option,
                                                      value):
    for seed in (0, 3):
      self.assertEqual(_games(_make(name, seed=seed, **{option: value}), 60,
                              seed),
                       _games(_make("ucb_constant", seed=seed), 60, seed))

  @parameterized.parameters(*_FORGETTING)
  def test_forgetting_changes_the_games(self, name, option, value):
    del value  # The default window and discount forget.
    self.assertNotEqual(_games(_make(name), 120),
                        _games(_make("ucb_constant"), 120))
    self.assertIn(option, principal_lib.PRINCIPALS[name].option_names())

  def test_sliding_window_follows_the_best_arm_when_it_moves(self):
    """Arm 0 (a flat 0) is best for 200 games, then arm 2 (a flat 4)."""
    noise = np.random.default_rng(7)
    best = {"rate": 0.0}

    def value_of(rates: np.ndarray) -> float:
      return (float(np.isclose(rates[0], best["rate"])) +
              0.1 * noise.standard_normal())

    found = {}
    for name, options in (("ucb_constant", {}),
                          ("sw_ucb_constant", {"window": 20})):
      principal = _make(name, arms=3, **options)
      best["rate"] = 0.0
      _games(principal, 200, value_of=value_of)
      self.assertEqual(principal.best_arm("utilitarian"), 0)
      best["rate"] = 4.0
      played = _games(principal, 50, value_of=value_of)
      found[name] = np.mean(np.isclose(played, 4.0))
    # The window forgets arm 0's 200 good games within 20; UCB1 keeps
    # their mean.
    self.assertGreater(found["sw_ucb_constant"], 0.6, found)
    self.assertLess(found["ucb_constant"], 0.3, found)

  def test_a_window_that_disagrees_with_the_counts_is_refused(self):
    principal = _make("sw_ucb_constant", window=5)
    _games(principal, 8)
    state = principal.state_dict()
    state["recent/utilitarian"] = state["recent/utilitarian"][1:]
    with self.assertRaisesRegex(ValueError, "pulls/utilitarian must be the "
                                "arms' counts in recent/utilitarian"):
      _make("sw_ucb_constant", window=5).load_state_dict(state)

  def test_the_window_class_plays_only_the_window(self):
    with self.assertRaisesRegex(ValueError, "algorithm must be one of"):
      constant_arms.SlidingWindowArmsPrincipal(
          constant_arms.ConstantArmsConfig(algorithm="ucb"))


class BadOptionsTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("arms", {"arms": 1}, "arms must be an integer >= 2, got 1"),
      ("top", {"top": 0.0}, "top must be None or a finite number > 0"),
      ("epsilon", {"epsilon": 1.5}, r"epsilon must be a finite number in "
       r"\[0, 1\]"),
      ("decay", {"epsilon_decay": 0.0}, "epsilon_decay"),
      ("unknown", {"algorithm": "ucb"}, r"takes no option\(s\) "
       r"\['algorithm'\]"),
      ("not_its_option", {"window": 5}, r"takes no option\(s\) "
       r"\['window'\]"),
  )
  def test_bad_options_name_the_valid_values(self, options, message):
    with self.assertRaisesRegex(ValueError, message):
      _make("epsilon_greedy", **options)

  @parameterized.named_parameters(
      ("window", "sw_ucb_constant", {"window": 0},
       "window must be an integer >= 1, got 0"),
      ("discount_zero", "d_ucb_constant", {"discount": 0.0},
       r"discount must be a finite number in \(0, 1\], got 0.0"),
      ("discount_big", "d_ucb_constant", {"discount": 1.5}, "discount"),
      ("epsilon", "sw_ucb_constant", {"epsilon": 0.2},
       r"takes no option\(s\) \['epsilon'\]"),
  )
  def test_bad_forgetting_options(self, name, options, message):
    with self.assertRaisesRegex(ValueError, message):
      _make(name, **options)

  def test_bad_principal_name_on_the_cli_exits_2(self):
    code, stderr = helpers.umd_with_stderr(
        "train", "principal", "--principal", "ucb", "--quiet")
    self.assertEqual(code, 2)
    self.assertIn("ucb_constant", stderr.splitlines()[-1])
    self.assertNotIn("Traceback", stderr)


if __name__ == "__main__":
  absltest.main()
