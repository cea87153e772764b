"""Lab2D computes only the observations a substrate config names.

`substrate.build_environment` asks Lab2D for the config's individual and
global observations (and what the wrappers read), not for every observation
the level declares, so a config without `RGB` and `WORLD.RGB` renders no
pixels, and still plays the same seeded game.
"""

import copy

from absl.testing import absltest
import dmlab2d
from meltingpot.utils.substrates import builder
import numpy as np

from umd_meltingpot import substrate

_NAME = "umd_apple_harvest__small"
_NUM_PLAYERS = 2
_SEED = 5


def _config(rounds: int = 1):
  """A short game with live taxes, so that rewards move."""
  config = substrate.get_config(_NAME, num_players=_NUM_PLAYERS)
  with config.unlocked():
    config.rounds = rounds
    config.initial_rates = (0.2, 0.5, 1.0)
  return config


def _without_pixels(config):
  config = copy.deepcopy(config)
  with config.unlocked():
    config.individual_observation_names = [
        name for name in config.individual_observation_names if name != "RGB"]
    config.global_observation_names = [
        name for name in config.global_observation_names
        if name != "WORLD.RGB"]
  return config


def _build(config):
  roles = ["default"] * _NUM_PLAYERS
  return substrate.build_substrate(
      lab2d_settings=config.lab2d_settings_builder(config, roles),
      config=config,
      individual_observations=config.individual_observation_names,
      global_observations=config.global_observation_names,
      action_table=config.action_set,
      env_seed=_SEED)


def _lab2d_environment(env) -> dmlab2d.Environment:
  """The innermost environment: the one that asks Lab2D for observations."""
  # pylint: disable=protected-access
  # Melting Pot's wrappers are `dmlab2d.Environment`s too.
  while not isinstance(env._env, dmlab2d.Lab2d):
    env = env._env
  return env


def _play(env, episodes: int = 1):
  """Each step's rewards and observations under seeded random actions."""
  rng = np.random.default_rng(0)
  num_actions = env.action_spec()[0].num_values
  steps = []
  for _ in range(episodes):
    timestep = env.reset()
    steps.append(timestep)
    while not timestep.last():
      timestep = env.step(rng.integers(0, num_actions, _NUM_PLAYERS))
      steps.append(timestep)
  return steps


class RenderOnDemandTest(absltest.TestCase):

  def test_lab2d_is_asked_only_for_what_the_config_names(self):
    config = _config()
    with _build(_without_pixels(config)) as env:
      names = set(_lab2d_environment(env).observation_spec())
    with _build(config) as env:
      with_pixels = set(_lab2d_environment(env).observation_spec())
    self.assertNoCommonElements(names, {"1.RGB", "2.RGB", "WORLD.RGB"})
    self.assertContainsSubset(
        {"1.RGB", "2.RGB", "WORLD.RGB"}, with_pixels)
    self.assertContainsSubset(
        {"WORLD.MECHANISM", "1.REWARD", "2.READY_TO_SHOOT"}, names)
    # Declared by the level but read by no wrapper.
    self.assertNotIn("GLOBAL.TEXT", with_pixels)

  def test_without_pixels_the_same_seeded_game_is_played(self):
    config = _config()
    with _build(config) as env:
      with_pixels = _play(env)
    with _build(_without_pixels(config)) as env:
      without = _play(env)
    self.assertLen(without, len(with_pixels))
    self.assertGreater(
        sum(np.abs(step.reward).sum() for step in with_pixels), 0)
    for step, (full, bare) in enumerate(zip(with_pixels, without)):
      self.assertEqual(full.step_type, bare.step_type)
      np.testing.assert_array_equal(full.reward, bare.reward)
      for player, (seen, seen_bare) in enumerate(
          zip(full.observation, bare.observation)):
        self.assertEqual(set(seen) - set(seen_bare), {"RGB", "WORLD.RGB"})
        for name, value in seen_bare.items():
          np.testing.assert_array_equal(
              value, seen[name], err_msg=f"step {step} player {player} {name}")

  def test_episodes_are_those_of_melting_pots_builder(self):
    # Melting Pot's builder rebuilds the level at each reset, seeding
    # episode j with env_seed + j; ours must play the same episodes.
    config = _config()
    settings = config.lab2d_settings_builder(config,
                                             ["default"] * _NUM_PLAYERS)
    ours = substrate.build_environment(settings, config, env_seed=_SEED)
    theirs = substrate.MechanismWrapper(
        builder.builder(settings, env_seed=_SEED), config, _NUM_PLAYERS)
    rng = np.random.default_rng(1)
    action_spec = ours.action_spec()
    try:
      for episode in range(2):
        mine, reference = ours.reset(), theirs.reset()
        step = 0
        while True:
          self.assertEqual(mine.step_type, reference.step_type)
          self.assertContainsSubset(mine.observation, reference.observation)
          for name, value in mine.observation.items():
            np.testing.assert_array_equal(
                value, reference.observation[name],
                err_msg=f"episode {episode} step {step} {name}")
          if mine.last():
            break
          actions = {name: rng.integers(spec.minimum, spec.maximum + 1)
                     for name, spec in action_spec.items()}
          mine, reference = ours.step(actions), theirs.step(actions)
          step += 1
    finally:
      ours.close()
      theirs.close()


if __name__ == "__main__":
  absltest.main()
