"""Tests for agents.bots' ballot casting: `vote_action` and `BallotPolicy`."""

from absl.testing import absltest
from absl.testing import parameterized
import dm_env
import numpy as np

from umd_meltingpot import agents

from umd_meltingpot.game import loop as game
from umd_meltingpot.agents import bots
from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.substrates import phases

_VOTE, _HARVEST, _OVER = (phases.Phase.VOTE, phases.Phase.HARVEST,
                          phases.Phase.OVER)


def _timestep(phase: int, step: int) -> dm_env.TimeStep:
  """A one-player timestep: a view that differs per step, and the phase."""
  rgb = np.full((88, 88, 3), step % 256, dtype=np.uint8)
  return dm_env.transition(reward=0.0, observation={
      "RGB": rgb, "PHASE": np.float64(phase),
      "READY_TO_SHOOT": np.float64(1.0)})


def _run(policy, phase_codes):
  """Steps `policy` through the phases; returns its actions and last state."""
  state = policy.initial_state()
  actions = []
  for step, phase in enumerate(phase_codes):
    action, state = policy.step(_timestep(phase, step), state)
    actions.append(action)
  return actions, state


class VoteActionTest(parameterized.TestCase):

  @parameterized.parameters(0, 1, 2)
  def test_a_choice_is_the_vote_action_after_the_commons_actions(self, k):
    self.assertEqual(bots.vote_action(k), obs_lib.NUM_COMMONS_ACTIONS + k)

  def test_no_choice_abstains_with_noop(self):
    self.assertEqual(bots.vote_action(None), obs_lib.NOOP)

  @parameterized.parameters(
      (bots.Voter.truthful((0.1, 0.2, 0.7), "borda"), 2),
      (bots.Voter.fixed(1), 1),
      (bots.Voter.abstain(), None),
  )
  def test_a_bot_votes_its_voters_choice(self, voter, choice):
    actions, _ = _run(bots.GreedyBot(voter=voter), [_VOTE])
    self.assertEqual(actions, [bots.vote_action(choice)])


class BallotPolicyTest(parameterized.TestCase):

  _PHASES = ([_VOTE] * 3 + [_HARVEST] * 4) * 3 + [_OVER]

  def test_asks_once_per_vote_phase_with_the_round_index(self):
    asked = []

    def ballot(round_index):
      asked.append(round_index)
      return (2, 0, 1)[round_index]

    actions, state = _run(bots.BallotPolicy(bots.RandomBot(), ballot),
                          self._PHASES)
    self.assertEqual(asked, [0, 1, 2])
    self.assertEqual(state.votes, 3)
    # One press per ballot, at the phase's first step, then NOOP.
    vote_actions = [a for a, p in zip(actions, self._PHASES) if p == _VOTE]
    self.assertEqual(vote_actions, [
        a for c in (2, 0, 1) for a in (bots.vote_action(c), 0, 0)])

  def test_casts_a_ranking_press_by_press(self):
    rankings = ((2, 0), (1,), ())
    actions, _ = _run(bots.BallotPolicy(bots.RandomBot(),
                                        lambda r: rankings[r]), self._PHASES)
    vote_actions = [a for a, p in zip(actions, self._PHASES) if p == _VOTE]
    self.assertEqual(vote_actions, [
        bots.ballot_action(ranking, step)
        for ranking in rankings for step in range(3)])
    self.assertEqual(vote_actions[:3], [bots.vote_action(2),
                                        bots.vote_action(0), obs_lib.NOOP])

  def test_an_abstaining_ballot_sends_noop(self):
    actions, _ = _run(bots.BallotPolicy(bots.RandomBot(), lambda r: None),
                      [_VOTE, _VOTE])
    self.assertEqual(actions, [obs_lib.NOOP] * 2)

  @parameterized.parameters(0, 7)
  def test_the_bot_plays_everything_but_the_vote_as_alone(self, seed):
    # The wrapped bot sees only the non-VOTE steps, with its state threaded
    # through, so it acts as it would on those steps alone: its own voter
    # (fixed to objective 0) is never asked.
    wrapped, _ = _run(
        bots.BallotPolicy(bots.RandomBot(voter=bots.Voter.fixed(0),
                                         seed=seed), lambda r: 2),
        self._PHASES)
    steps = [(s, p) for s, p in enumerate(self._PHASES) if p != _VOTE]
    bot = bots.RandomBot(voter=bots.Voter.fixed(0), seed=seed)
    state = bot.initial_state()
    alone = []
    for step, phase in steps:
      action, state = bot.step(_timestep(phase, step), state)
      alone.append(action)
    self.assertEqual([wrapped[s] for s, _ in steps], alone)
    self.assertEqual(alone[-1], obs_lib.NOOP)  # The game is over.

  def test_the_substrate_elects_the_scheduled_ballots(self):
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__small", rounds=3, steps=2,
        vote_steps=2, bots="random", principal="fixed", seed=3), agents.FACTORY)
    schedule = ((2, 1), (0,), (1, 0))
    policies = [bots.BallotPolicy(bot, lambda r: schedule[r])
                for bot in game.build_bots(prepared)]
    with game.build_environment(prepared) as env:
      game.play_episode(env, policies)
      records = env.records
    objectives = tuple(prepared.substrate_config.objectives)
    self.assertEqual([r.objective for r in records],
                     [objectives[c[0]] for c in schedule])
    # Lua recorded each ranking: rank positions per objective.
    self.assertEqual(records[0].ballots, [[0, 2, 1]] * prepared.num_players)
    self.assertEqual(records[1].ballots, [[1, 0, 0]] * prepared.num_players)


if __name__ == "__main__":
  absltest.main()
