"""The level's `GRID` view against the pixels it stands for.

`GRID` (lua/levels/umd_apple_harvest/view_cells.lua) classifies each
player's view without rendering it, and `FIRST_RGB_CRC32` hashes the first
view of an episode; the bots and the PPO followers read them instead of
`RGB` when a game asks for no pixels. These tests hold the two paths to the
same answers: the grid on views of seeded games, and whole runs.
"""

import dataclasses
import pathlib
import zlib

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from umd_meltingpot import agents
from umd_meltingpot import substrate
from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.game import loop as game
from umd_meltingpot.substrates import umd_apple_harvest

Cell = obs_lib.Cell
_BEAM = np.array([252, 252, 106], np.uint8)  # Melting Pot's zap colour.


def _both_views(name: str, num_players: int) -> substrate.Substrate:
  """`name` observing RGB, GRID, FIRST_RGB_CRC32 and ORIENTATION."""
  config = substrate.get_config(name, num_players)
  with config.unlocked():
    config.player_views = umd_apple_harvest.PLAYER_VIEWS
    config.debug_observations = True
  return substrate.build_from_config(
      config, roles=["default"] * num_players, env_seed=7)


def _black_cells(rgb: np.ndarray) -> np.ndarray:
  """Which 8 x 8 cells of a view are all black (beyond the map)."""
  cells = rgb.reshape(11, 8, 11, 8, 3)
  return (cells == 0).all(axis=(1, 3, 4))


class GridTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("small", "umd_apple_harvest__small", 4, 700),
      ("open", "umd_apple_harvest__open", 7, 440))
  def test_grid_is_the_parsed_rgb_view(self, name, num_players, steps):
    rng = np.random.default_rng(0)
    seen = {"classes": np.zeros(4, int), "orientations": set(), "beam": 0,
            "edge": 0, "zapped": 0, "views": 0, "episodes": 0}
    with _both_views(name, num_players) as env:
      # Two episodes, the second started mid-game (a fresh first view).
      for _ in range(2):
        timestep = env.reset()
        seen["episodes"] += 1
        first = [zlib.crc32(np.ascontiguousarray(o["RGB"]).tobytes())
                 for o in timestep.observation]
        for _ in range(steps // 2):
          for player, o in enumerate(timestep.observation):
            parsed = obs_lib.parse_cells(o["RGB"])
            self.assertEqual(o["GRID"].shape, parsed.shape)
            np.testing.assert_array_equal(
                o["GRID"], parsed, err_msg=f"player {player}")
            # The same number all episode: the first view's.
            self.assertEqual(int(o["FIRST_RGB_CRC32"]), first[player])
            seen["views"] += 1
            seen["classes"] += np.bincount(parsed.ravel(), minlength=4)
            seen["orientations"].add(int(o["ORIENTATION"]))
            seen["beam"] += (o["RGB"] == _BEAM).all(-1).any()
            black = _black_cells(o["RGB"])
            seen["zapped"] += black.all()
            seen["edge"] += black.any() and not black.all()
          # Random commons actions: zaps included.
          timestep = env.step(rng.integers(0, obs_lib.NUM_COMMONS_ACTIONS,
                                           num_players))
    # Thousands of views, with every case the grid must get right.
    self.assertGreaterEqual(seen["views"], 1500)
    self.assertTrue(all(seen["classes"]), seen["classes"])
    self.assertEqual(seen["orientations"], {0, 1, 2, 3})
    self.assertGreater(seen["beam"], 0)
    self.assertGreater(seen["edge"], 0)
    self.assertGreater(seen["zapped"], 0)

  def test_views_are_optional_observations(self):
    config = substrate.get_config("umd_apple_harvest__small")
    # Melting Pot's by default.
    self.assertEqual(config.individual_observation_names[0], "RGB")
    self.assertNotIn("GRID", config.individual_observation_names)
    self.assertIn("WORLD.RGB", config.global_observation_names)
    with config.unlocked():
      config.player_views = ("FIRST_RGB_CRC32", "GRID")
      config.world_views = ()
    config = umd_apple_harvest.with_num_players(config, 4)
    self.assertEqual(config.individual_observation_names[:3],
                     ["GRID", "FIRST_RGB_CRC32", "READY_TO_SHOOT"])
    self.assertNotIn("WORLD.RGB", config.global_observation_names)
    spec = config.timestep_spec.observation
    self.assertNotIn("RGB", spec)
    self.assertEqual((spec["GRID"].shape, spec["GRID"].dtype),
                     ((11, 11), np.uint8))
    with substrate.build_from_config(config, roles=["default"] * 4,
                                     env_seed=1) as env:
      observation = env.reset().observation[0]
    self.assertNotIn("RGB", observation)
    self.assertNotIn("WORLD.RGB", observation)
    self.assertEqual(observation["GRID"][obs_lib.SELF_POSITION], Cell.EMPTY)
    with config.unlocked():
      config.player_views = ("RGB", "PIXELS")
    with self.assertRaisesRegex(ValueError, "player_views"):
      umd_apple_harvest.with_num_players(config, 4)

  def test_cells_read_grid_or_pixels_alike(self):
    with _both_views("umd_apple_harvest__small", 4) as env:
      observations = env.reset().observation
    pixels = [{"RGB": o["RGB"]} for o in observations]
    grids = [{"GRID": o["GRID"], "FIRST_RGB_CRC32": o["FIRST_RGB_CRC32"]}
             for o in observations]
    np.testing.assert_array_equal(obs_lib.cells_of(grids),
                                  obs_lib.cells_of(pixels))
    for grid, pixel in zip(grids, pixels):
      self.assertEqual(obs_lib.cells(grid).dtype, np.int8)
      np.testing.assert_array_equal(obs_lib.cells(grid),
                                    obs_lib.cells(pixel))
      self.assertEqual(obs_lib.first_view_crc32(grid),
                       obs_lib.first_view_crc32(pixel))

  def test_followers_features_are_the_same_from_grid(self):
    # What the shipped symbolic followers see: byte for byte.
    with _both_views("umd_apple_harvest__small", 4) as env:
      env.reset()
      observations = env.step([obs_lib.FORWARD] * 4).observation

    def without(name):
      return [{k: v for k, v in o.items() if k != name} for o in observations]

    mechanism = features.Mechanism(1.0, (5.0, 10.0))
    from_grid = features.encode_players(without("RGB"), "symbolic",
                                        mechanism, skill=True)
    from_pixels = features.encode_players(without("GRID"), "symbolic",
                                          mechanism, skill=True)
    self.assertEqual(from_grid.keys(), from_pixels.keys())
    for key in from_grid:
      self.assertEqual(from_grid[key].dtype, from_pixels[key].dtype)
      np.testing.assert_array_equal(from_grid[key], from_pixels[key])


class RunTest(absltest.TestCase):

  def test_a_seeded_run_plays_the_same_without_pixels(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__small", seed=4, rounds=2, steps=120,
        bots="ppo,greedy,random,zapper", out=str(folder / "grid")),
        agents.FACTORY)
    # The bots ask for no pixels, so the game renders none.
    config = prepared.substrate_config
    self.assertEqual(tuple(config.player_views), ("GRID", "FIRST_RGB_CRC32"))
    self.assertEqual(tuple(config.world_views), ())
    pixels = dataclasses.replace(
        prepared,
        config=dataclasses.replace(prepared.config, out=str(folder / "rgb")),
        substrate_config=game.with_views(config, ("RGB", "WORLD.RGB")))
    self.assertNotIn("GRID",
                     pixels.substrate_config.individual_observation_names)
    for run in (prepared, pixels):
      game.run(run, progress=False)
    for name in ("rounds.jsonl", "steps.jsonl"):
      self.assertEqual((folder / "grid" / name).read_bytes(),
                       (folder / "rgb" / name).read_bytes(), name)


if __name__ == "__main__":
  absltest.main()
