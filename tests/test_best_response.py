"""The followers that best-respond to phi (agents/best_response.py)."""

import json
import pathlib

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np

from umd_meltingpot import agents
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot import substrate
from umd_meltingpot.agents import best_response
from umd_meltingpot.training import best_response_table
from umd_meltingpot.principal import schedule as schedule_lib

_SMALL = "umd_apple_harvest__small"


@st.composite
def period_incomes(draw):
  players = draw(st.integers(2, 5))
  periods = draw(st.integers(1, 4))
  counts = draw(st.lists(st.integers(0, 15), min_size=players * periods,
                         max_size=players * periods))
  return np.asarray(counts, dtype=float).reshape(players, periods)


def _apples_after_round_one(phi):
  config = game_lib.GameConfig(substrate=_SMALL, bots="best_response",
                               phi0=phi, seed=5, rounds=None)
  game = game_lib.prepare(config, agents.FACTORY)
  with game_lib.build_environment(game) as env:
    game_lib.play_episode(env, game_lib.build_bots(game))
    return env.records


class BestResponseTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.shipped = best_response.load()

  @hypothesis.given(period_incomes(),
                    st.lists(st.floats(0, 1), min_size=3, max_size=3),
                    st.sampled_from(["equal", "below_mean"]))
  def test_taxed_returns_conserve_income(self, incomes, rates, redistribution):
    schedule = schedule_lib.TaxSchedule(tuple(rates), (5.0, 10.0))
    returns = best_response.taxed_returns(incomes, schedule, 1.0,
                                          redistribution)
    self.assertEqual(returns.shape, (incomes.shape[0],))
    np.testing.assert_allclose(returns.sum(), incomes.sum(), atol=1e-9)

  def test_taxed_returns_tax_each_apple_as_the_treasury_does(self):
    # Player 0 eats 12 apples in one period: 5 at 0.1, 5 at 0.3, 2 at 0.5.
    schedule = schedule_lib.TaxSchedule((0.1, 0.3, 0.5), (5.0, 10.0))
    incomes = np.array([[12.0], [0.0]])
    pool = 5 * 0.1 + 5 * 0.3 + 2 * 0.5
    np.testing.assert_allclose(
        best_response.taxed_returns(incomes, schedule, 1.0, "equal"),
        [12 - pool + pool / 2, pool / 2])
    np.testing.assert_allclose(
        best_response.taxed_returns(incomes, schedule, 1.0, "below_mean"),
        [12 - pool, pool])

  def test_taxed_returns_name_the_valid_rules(self):
    schedule = schedule_lib.TaxSchedule((0.5,), ())
    with self.assertRaisesRegex(ValueError, "equal.*below_mean"):
      best_response.taxed_returns(np.ones((2, 1)), schedule, 1.0, "all")

  def test_selection_picks_the_payoff_dominant_equilibrium(self):
    # Stag hunt: both "all 0" (2) and "all 1" (5) are stable; 1 pays more.
    symmetric = np.array([2.0, 5.0])
    deviant = np.array([[2.0, 3.0],    # plays 0 against 0, against 1
                        [0.0, 5.0]])   # plays 1 against 0, against 1
    self.assertEqual(best_response.select_equilibrium(symmetric, deviant), 1)

  def test_selection_finds_the_dilemma_equilibrium(self):
    # Prisoner's dilemma: restraint (1) pays all more, but a deviant gains.
    symmetric = np.array([2.0, 5.0])
    deviant = np.array([[2.0, 7.0], [1.0, 5.0]])
    self.assertEqual(best_response.select_equilibrium(symmetric, deviant), 0)

  def test_selection_without_equilibrium_takes_the_smallest_gain(self):
    symmetric = np.array([1.0, 1.0])
    deviant = np.array([[1.0, 4.0], [3.0, 1.0]])  # Gains 2 and 3.
    self.assertEqual(best_response.select_equilibrium(symmetric, deviant), 0)

  def test_shipped_table_fits_the_small_map(self):
    config = substrate.get_config(_SMALL)
    best_response.check_fits(self.shipped, config, 4, "shipped")
    self.assertEqual(self.shipped.strategies, best_response.DEFAULT_STRATEGIES)

  def test_shipped_followers_respond_to_phi(self):
    # The commons dilemma of the measured game: untaxed, selfish players
    # race (greedy, k=0); a high flat tax with equal redistribution makes
    # restraint the equilibrium, which pays every player more.
    untaxed = self.shipped.response((0.0, 0.0, 0.0))
    taxed = self.shipped.response((0.9, 0.9, 0.9))
    self.assertEqual(untaxed, 0)
    self.assertGreater(taxed, 0)
    symmetric_untaxed, _ = self.shipped.payoffs((0.0, 0.0, 0.0))
    symmetric_taxed, _ = self.shipped.payoffs((0.9, 0.9, 0.9))
    index = self.shipped.strategies.index
    self.assertGreater(symmetric_taxed[index(taxed)],
                       2 * symmetric_untaxed[index(0)])

  def test_followers_spare_the_commons_under_a_high_tax(self):
    untaxed = _apples_after_round_one((0.0, 0.0, 0.0))
    taxed = _apples_after_round_one((0.9, 0.9, 0.9))
    self.assertLessEqual(untaxed[0].apples_alive, 2)
    self.assertGreaterEqual(taxed[0].apples_alive, 5)
    self.assertGreater(sum(sum(r.gross) for r in taxed),
                       2 * sum(sum(r.gross) for r in untaxed))

  def test_fines_are_taxed_as_the_treasury_levies_them(self):
    # 12 apples in one period, edges 5 and 10: the 11th and 12th are fined 2
    # each; the pool of 4 goes back in equal shares.
    schedule = self.shipped.schedule((0.0, 0.0, 2.0))
    returns = best_response.taxed_returns(
        np.array([[12.0], [0.0]]), schedule, 1.0, "equal")
    np.testing.assert_allclose(returns, [12.0 - 4.0 + 2.0, 2.0])
    # A game with fines is played: the table was measured untaxed.
    game_lib.prepare(game_lib.GameConfig(
        substrate=_SMALL, max_rate=4.0, phi0=(0.0, 2.0, 4.0),
        bots="best_response"), agents.FACTORY)

  def test_a_game_with_a_bracket_window_is_refused(self):
    with self.assertRaisesRegex(ValueError, "bracket_window = 10"):
      game_lib.prepare(game_lib.GameConfig(substrate=_SMALL, bracket_window=10,
                                           bots="best_response"),
                                           agents.FACTORY)

  def test_a_game_on_another_setting_is_refused_with_the_mismatch(self):
    with self.assertRaisesRegex(ValueError, "num_players.*table 4, game 7") as (
        raised):
      game_lib.prepare(game_lib.GameConfig(substrate="umd_apple_harvest__open",
                                           bots="best_response"),
                                           agents.FACTORY)
    message = str(raised.exception)
    # The maps by name, never as ASCII art; a command that can be run.
    self.assertIn("map: table the 'small' map, game the 'open' map", message)
    self.assertNotIn("WWW", message)
    self.assertNotIn("\\n", message)
    self.assertIn("--substrate umd_apple_harvest__open --players 7 --rounds 5 "
                  "--steps 200 --vote-steps 10 --tax-period 50", message)
    with self.assertRaisesRegex(ValueError, "rounds: table 5, game 6"):
      game_lib.prepare(game_lib.GameConfig(substrate=_SMALL, rounds=6,
                                           bots="best_response"),
                                           agents.FACTORY)
    with self.assertRaisesRegex(ValueError, "tax_period: table 25, game 20"):
      game_lib.prepare(game_lib.GameConfig(substrate=_SMALL, tax_period=20,
                                           bots="best_response"),
                                           agents.FACTORY)

  def test_a_table_covers_fewer_rounds_longer_periods_and_other_brackets(self):
    config = substrate.get_config(_SMALL)
    with config.unlocked():
      config.rounds, config.tax_period = 2, 50
      config.bracket_edges, config.initial_rates = (8.0,), (0.0, 0.0)
      config.redistribution = "below_mean"
    game = self.shipped.for_game(config, 4)
    self.assertEqual(game.setting["rounds"], 2)
    self.assertEqual(game.setting["bracket_edges"], [8.0])
    table = self.shipped.incomes[1, 2]  # [seeds, players, 5 rounds x 4]
    np.testing.assert_array_equal(
        game.incomes[1, 2], table[:, :, :8].reshape(16, 4, 4, 2).sum(-1))
    # The same game through umd run's path.
    game_lib.prepare(game_lib.GameConfig(
        substrate=_SMALL, rounds=2, tax_period=50, brackets=(8.0,),
        phi0=(0.0, 0.5), bots="best_response"), agents.FACTORY)

  def test_the_first_rounds_of_a_longer_game_are_a_shorter_game(self):
    # Why a table covers fewer rounds: same seed, same first round.
    incomes = {}
    for rounds in (1, 2):
      config = substrate.get_config(_SMALL)
      with config.unlocked():
        config.rounds, config.harvest_steps, config.tax_period = rounds, 20, 10
      incomes[rounds] = best_response_table.play_profile(
          config, [0, 2, 2, 2], 3)
    np.testing.assert_array_equal(incomes[2][:, :2], incomes[1])

  def test_the_measuring_command_takes_the_game_settings(self):
    out = pathlib.Path(self.create_tempdir().full_path) / "table.json"
    self.assertEqual(best_response_table.main([
        "--players", "2", "--rounds", "1", "--steps", "20", "--vote-steps",
        "2", "--tax-period", "10", "--strategies", "0,2", "--seeds", "1",
        "--quiet", "--out", str(out)]), 0)
    table = best_response.load(str(out))
    self.assertEqual((table.setting["rounds"], table.setting["harvest_steps"],
                      table.setting["tax_period"]), (1, 20, 10))
    with self.assertRaises(SystemExit) as raised:
      best_response_table.main(["--steps", "30", "--tax-period", "20", "--out",
                          str(out)])
    self.assertEqual(raised.exception.code, 2)

  def test_bad_tables_are_refused(self):
    tmp_path = pathlib.Path(self.create_tempdir().full_path)
    with self.assertRaisesRegex(ValueError, "No best-response table"):
      agents.check_bot(f"best_response:{tmp_path}/missing.json")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    with self.assertRaisesRegex(ValueError, "is not a best-response table"):
      agents.check_bot(f"best_response:{corrupt}")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with self.assertRaisesRegex(ValueError, "format"):
      agents.check_bot(f"best_response:{other}")
    self.assertIn("best_response:PATH", agents.bot_names())

  def test_measure_save_and_load_round_trip(self):
    tmp_path = pathlib.Path(self.create_tempdir().full_path)
    config = substrate.get_config(_SMALL)
    with config.unlocked():
      config.rounds, config.harvest_steps, config.tax_period = 1, 20, 10
    config = substrate.umd_apple_harvest.with_num_players(config, 2)
    meta_game = best_response_table.measure(
        config, num_players=2, strategies=(0, 2),
        seeds=(0,), progress=False)
    self.assertEqual(meta_game.incomes[0, 2].shape, (1, 2, 2))
    # Untaxed, the incomes are what the players ate: whole apples.
    for incomes in meta_game.incomes.values():
      np.testing.assert_array_equal(incomes, np.rint(incomes))
    self.assertGreater(meta_game.incomes[0, 0].sum(), 0)
    path = tmp_path / "table.json"
    best_response_table.save(meta_game, path)
    loaded = best_response.load(str(path))
    self.assertEqual(loaded.strategies, (0, 2))
    np.testing.assert_array_equal(loaded.incomes[2, 0], meta_game.incomes[2, 0])
    best_response.check_fits(loaded, config, 2, path)
    bot = agents.make_bot(f"best_response:{path}", seed=1)
    self.assertIsInstance(bot, best_response.BestResponseFollower)
    self.assertEqual(bot.meta_game.strategies, (0, 2))


if __name__ == "__main__":
  absltest.main()
