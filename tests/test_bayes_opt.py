"""The Bayesian-optimisation principals `bo` and `bo_dynamic` (issue 21), on
made-up games whose best schedule is known."""

import math
import pathlib

from absl.testing import absltest
from absl.testing import parameterized
import hypothesis
from hypothesis import strategies
import numpy as np

from umd_meltingpot import principal as principal_lib
from umd_meltingpot.principal import bayes_opt
from umd_meltingpot.principal import checkpoint

_SCHEDULE = principal_lib.TaxSchedule((0.0, 0.0, 0.0), (1.0, 2.0),
                                      max_rate=2.0)
_TARGET = np.array([0.6, 1.4, 0.2])
_ROUNDS = 4
_BALLOT = {"utilitarian": 4.0, "egalitarian": 0.0, "nash": 0.0}


def _round_value(rates: np.ndarray, round_index: int, apples: float,
                 rng: np.random.Generator) -> float:
  """A made-up round: the best rates are _TARGET, but in the last round no
  tax at all is best (no future to protect)."""
  target = np.zeros(3) if round_index == _ROUNDS - 1 else _TARGET
  del apples
  return -float(np.sum((rates - target) ** 2)) + rng.normal(0.0, 0.05)


class _Game:
  """Plays made-up games with a principal, sequentially."""

  def __init__(self, seed: int = 0, objective: str = "utilitarian"):
    self.rng = np.random.default_rng(seed)
    self.objective = objective

  def play(self, principal: principal_lib.Principal,
           previous: np.ndarray = np.zeros(3)) -> list[np.ndarray]:
    rates, played = previous, []
    for round_index in range(_ROUNDS):
      apples = 100.0 - 20.0 * round_index
      observation = principal_lib.RoundObservation(
          round_index=round_index, previous_rates=rates,
          edges=_SCHEDULE.edges, max_rate=_SCHEDULE.max_rate,
          objective=self.objective, apples_alive=int(apples),
          ballots=_BALLOT, num_rounds=_ROUNDS)
      rates = np.asarray(principal.propose(observation, self.objective))
      played.append(rates)
      principal.update(principal_lib.RoundFeedback(
          round_index=round_index, objective=self.objective,
          objective_value=_round_value(rates, round_index, apples, self.rng),
          rates=rates, returns=np.zeros(4), num_rounds=_ROUNDS))
    return played


def _make(name: str = "bo", delta: float = math.inf, seed: int = 3,
          **options) -> bayes_opt.BayesOptPrincipal:
  return principal_lib.make_principal(name, schedule=_SCHEDULE, delta=delta,
                                      seed=seed, **options)


def _history(principal: bayes_opt.BayesOptPrincipal,
             objective: str = "utilitarian") -> tuple[np.ndarray, np.ndarray]:
  return principal.history(objective)


class ConvergenceTest(absltest.TestCase):

  def test_bo_finds_the_best_constant_schedule(self):
    principal, game = _make("bo"), _Game()
    for _ in range(60):
      game.play(principal)
    # The best constant schedule of this game: 3/4 of the target (three
    # rounds want it, the last wants 0).
    np.testing.assert_allclose(principal.best("utilitarian"), 0.75 * _TARGET,
                               atol=0.25)
    principal.set_learning(False)
    frozen = game.play(principal)
    np.testing.assert_allclose(frozen[0], principal.best("utilitarian"))

  def test_bo_dynamic_releases_the_tax_in_the_last_round(self):
    principal, game = _make("bo_dynamic"), _Game()
    for _ in range(80):
      game.play(principal)
    best = principal.best("utilitarian")
    np.testing.assert_allclose(best[:3], _TARGET, atol=0.35)
    self.assertLess(best[3], 0.35)  # The release: last-round rates × it.
    principal.set_learning(False)
    rounds = game.play(principal)
    # The last round: apples down to 40 of 100 (scarcity 0.6), released.
    np.testing.assert_allclose(
        rounds[-1], np.clip(best[:3] + best[4] * 2.0 * 0.6, 0, 2) * best[3],
        atol=1e-9)

  def test_a_seed_gives_the_same_candidates(self):
    first, second = _make(seed=5), _make(seed=5)
    for principal in (first, second):
      game = _Game()
      for _ in range(12):
        game.play(principal)
    np.testing.assert_array_equal(_history(first)[0], _history(second)[0])
    other = _make(seed=6)
    game = _Game()
    for _ in range(12):
      game.play(other)
    self.assertFalse(np.array_equal(_history(first)[0], _history(other)[0]))


class BatchTest(parameterized.TestCase):

  @parameterized.parameters("bo", "bo_dynamic")
  def test_planned_batches_tell_what_sequential_games_tell(self, name):
    sequential, batched = _make(name, batch=3), _make(name, batch=3)
    game = _Game()
    for _ in range(10):
      game.play(sequential)
    game = _Game()
    while batched.games < 10:
      plans = batched.plan_batch(list(_BALLOT), np.zeros(3), 2.0,
                                 10 - batched.games)
      rounds = []
      for plan in plans:
        values = []
        recorder = _Recorder(plan, values)
        game.play(recorder)
        rounds.append(values)
      batched.tell_batch(plans, rounds)
    for objective in _BALLOT:
      for got, want in zip(batched.history(objective),
                           sequential.history(objective)):
        np.testing.assert_array_equal(got, want)
    self.assertEqual(sequential.state_dict().keys(),
                     batched.state_dict().keys())

  def test_a_candidate_whose_objective_was_not_voted_is_not_told(self):
    principal = _make(batch=2)
    _Game().play(principal)
    self.assertLen(_history(principal, "utilitarian")[1], 1)
    self.assertLen(_history(principal, "nash")[1], 0)
    self.assertIsNone(principal.best("nash"))


class _Recorder(principal_lib.Principal):
  """Plays a plan, recording each round's (objective, value)."""

  def __init__(self, plan, values):
    self._plan, self._values = plan, values

  def propose(self, observation, objective):
    return self._plan.propose(observation, objective)

  def update(self, feedback):
    self._values.append((feedback.objective, feedback.objective_value))


class CheckpointTest(parameterized.TestCase):

  @parameterized.parameters(("bo", 5), ("bo_dynamic", 6), ("bo", 8))
  def test_resume_mid_batch_plays_the_same_candidates(self, name, games):
    path = pathlib.Path(self.create_tempdir().full_path, "p.npz")
    original = _make(name, batch=4)
    game = _Game()
    for _ in range(games):
      game.play(original)
    checkpoint.save(path, name, original, _SCHEDULE, counters={"games": 5})
    restored = checkpoint.load(path, num_brackets=3, delta=math.inf).principal
    state = np.random.default_rng(9)
    for principal in (original, restored):
      game = _Game()
      game.rng = np.random.default_rng(state.integers(1))  # The same draws.
      for _ in range(7):
        game.play(principal)
    np.testing.assert_array_equal(_history(restored)[0],
                                  _history(original)[0])
    np.testing.assert_array_equal(restored.best("utilitarian"),
                                  original.best("utilitarian"))

  def test_corrupt_history_is_refused(self):
    principal = _make(batch=2)
    _Game().play(principal)
    state = principal.state_dict()
    state["told/utilitarian"] = np.array([0.5, 1.0])
    with self.assertRaisesRegex(ValueError, "told flags 0 or 1"):
      _make(batch=2).load_state_dict(state)
    state = principal.state_dict()
    state["candidates/utilitarian"] = np.zeros((3, 3))
    with self.assertRaisesRegex(ValueError, "values/utilitarian. must have shape"):
      _make(batch=2).load_state_dict(state)

  def test_a_game_in_progress_round_trips_and_bad_ones_are_refused(self):
    principal, rates = _make("bo_dynamic", batch=2), np.zeros(3)
    for round_index in range(2):  # Two rounds of a four-round game.
      observation = principal_lib.RoundObservation(
          round_index=round_index, previous_rates=rates,
          edges=_SCHEDULE.edges, max_rate=2.0, objective="utilitarian",
          apples_alive=90 - 30 * round_index, ballots=_BALLOT,
          num_rounds=_ROUNDS)
      rates = principal.propose(observation, "utilitarian")
      principal.update(principal_lib.RoundFeedback(
          round_index=round_index, objective="utilitarian",
          objective_value=1.0, rates=rates, returns=np.zeros(4),
          num_rounds=_ROUNDS))
    state = principal.state_dict()
    self.assertEqual(state["game"]["apples"], 90.0)
    restored = _make("bo_dynamic", batch=2)
    restored.load_state_dict(state)
    self.assertEqual(restored.state_dict()["game"], state["game"])
    for key, bad in (("apples", "x"), ("rounds", [["nash"]]),
                     ("last_round", -1)):
      broken = {**state, "game": {**state["game"], key: bad}}
      with self.assertRaisesRegex(ValueError, "the game in progress"):
        _make("bo_dynamic", batch=2).load_state_dict(broken)


class BoundTest(absltest.TestCase):

  @hypothesis.settings(max_examples=25, deadline=None)
  @hypothesis.given(
      delta=strategies.floats(0.0, 3.0),
      dynamic=strategies.booleans(),
      seed=strategies.integers(0, 100))
  def test_every_proposal_is_within_delta_and_the_cap(self, delta, dynamic,
                                                      seed):
    principal = _make("bo_dynamic" if dynamic else "bo", delta=delta,
                      seed=seed, batch=2, startup=2)
    game, previous = _Game(seed), np.zeros(3)
    for _ in range(4):
      for rates in game.play(principal, previous):
        self.assertLessEqual(np.max(np.abs(rates - previous)), delta + 1e-9)
        self.assertTrue(np.all((rates >= 0) & (rates <= 2.0)))
        previous = rates


class ConfigTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("batch", {"batch": 0}, "batch must be an integer >= 1, got 0"),
      ("sampler", {"sampler": "gp"},
       r"sampler must be one of \['tpe', 'random'\], got 'gp'"),
      ("startup", {"startup": 0}, "startup must be an integer >= 1"),
      ("smoothing", {"smoothing": -1}, "smoothing must be"),
  )
  def test_bad_options_raise_one_line(self, options, message):
    with self.assertRaisesRegex(ValueError, message):
      _make(**options)

  def test_the_random_sampler_is_the_ablation(self):
    principal, game = _make(sampler="random"), _Game()
    for _ in range(6):
      game.play(principal)
    self.assertLen(_history(principal)[1], 6)

  def test_smoothing_zero_takes_the_best_game(self):
    points = np.array([[0.0], [0.1], [1.0]])
    values = np.array([1.0, -5.0, 0.5])
    self.assertEqual(np.argmax(bayes_opt.smoothed_values(points, values, 0)),
                     0)
    # Smoothed, the lucky game among bad neighbours loses.
    self.assertEqual(
        np.argmax(bayes_opt.smoothed_values(points, values, 0.2)), 2)


if __name__ == "__main__":
  absltest.main()
