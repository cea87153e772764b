"""`umd run` and the game loop, end to end on the small map."""

import json
import os
import pathlib

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from tests import helpers
from umd_meltingpot import agents
from umd_meltingpot.agents import factory
from umd_meltingpot.game import loop as game
from umd_meltingpot import substrate
from umd_meltingpot.game import principal_wrapper as wrapper

_SMALL = ["run", "--substrate", "umd_apple_harvest__small", "--rounds", "2",
          "--steps", "30", "--vote-steps", "2", "--quiet"]
_RECORD_KEYS = {
    "round", "objective", "objective_value", "ballots", "tally", "phi_prev",
    "phi_proposed", "phi", "divergence", "projection_changed", "metrics",
    "gross", "net", "tax", "transfer", "returns", "apples_alive"}


class RunTest(parameterized.TestCase):

  def test_two_round_run_writes_every_output(self):
    out = self.create_tempdir().full_path + "/run"
    code = helpers.umd(*_SMALL, "--principal", "hand_rule", "--delta", "0.1",
                       "--phi0", "0", "--preferences", "fixed:egalitarian",
                       "--video", "--out", out)
    self.assertEqual(code, 0)
    files = sorted(os.listdir(out))
    self.assertEqual(
        files, ["config.json", "episode.mp4", "rounds.jsonl", "steps.jsonl",
                "summary.png"])
    records = [json.loads(line) for line in open(f"{out}/rounds.jsonl")]
    self.assertLen(records, 2)
    for record in records:
      self.assertContainsSubset(_RECORD_KEYS, record)
      self.assertEqual(record["objective"], "egalitarian")
      self.assertLessEqual(record["divergence"], 0.1 + 1e-12)
      self.assertLen(record["returns"], 4)
    # The hand rule taxes the top brackets under an egalitarian vote, and
    # the delta bound makes it get there by steps of 0.1.
    self.assertEqual(records[0]["phi"], [0.0, 0.1, 0.1])
    self.assertEqual(records[1]["phi"], [0.0, 0.2, 0.2])
    self.assertTrue(records[0]["projection_changed"])
    config = json.load(open(f"{out}/config.json"))
    self.assertEqual(config["options"]["principal"], "hand_rule")
    self.assertEqual(config["substrate_config"]["rounds"], 2)
    self.assertGreater(os.path.getsize(f"{out}/summary.png"), 10_000)

  def test_the_default_run_shows_the_tax_keeping_the_commons_alive(self):
    # What the README's first `umd run` shows: the small map's best-response
    # followers kill the commons untaxed and keep it under the default tax.
    apples = {}
    for phi0 in ("0", None):
      out = self.create_tempdir(f"phi0-{phi0}").full_path + "/run"
      flags = ["--phi0", phi0] if phi0 else []
      self.assertEqual(helpers.umd("run", "--quiet", *flags, "--out", out), 0)
      config = json.load(open(f"{out}/config.json"))
      self.assertEqual(config["bots"], ["best_response"] * 4)
      records = [json.loads(line) for line in open(f"{out}/rounds.jsonl")]
      apples[phi0] = [record["apples_alive"] for record in records]
    self.assertEqual(apples["0"], [0] * 5)
    self.assertGreater(min(apples[None]), 0)

  def test_same_seed_same_rounds(self):
    outputs = []
    for name in ("a", "b"):
      out = self.create_tempdir(name).full_path + "/run"
      self.assertEqual(
          helpers.umd(*_SMALL, "--seed", "5", "--principal", "hand_rule",
                      "--bots", "greedy,random,zapper", "--out", out), 0)
      outputs.append(pathlib.Path(out, "rounds.jsonl").read_bytes())
    self.assertEqual(outputs[0], outputs[1])
    self.assertGreater(len(outputs[0]), 100)

  def test_rates_in_lua_equal_the_projected_phi(self):
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__small", rounds=3, steps=20,
        vote_steps=2, principal="hand_rule", delta=0.15,
        preferences="fixed:egalitarian"), agents.FACTORY)
    env = game.build_environment(prepared)
    seen = []

    def on_step(timestep):
      world = timestep.observation[0]
      if world["WORLD.PHASE"] == 1:
        seen.append((int(world["WORLD.ROUND"]),
                     tuple(wrapper.read_schedule(env)),
                     tuple(world["TAX_RATES"])))

    with env:
      game.play_episode(env, game.build_bots(prepared), on_step)
      records = env.records
    self.assertLen(records, 3)
    for round_index, lua_rates, observed in seen:
      phi = tuple(records[round_index - 1].phi)
      np.testing.assert_allclose(lua_rates, phi, rtol=0, atol=1e-15)
      np.testing.assert_allclose(observed, phi, rtol=0, atol=1e-15)

  def test_an_interrupted_run_keeps_its_finished_rounds(self):
    out = self.create_tempdir().full_path + "/run"
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__small", rounds=3, steps=20,
        vote_steps=2, out=out), agents.FACTORY)
    original = game.play_episode

    def interrupted(env, bots, on_step):
      def stop_in_round_2(timestep):
        on_step(timestep)
        if timestep.observation[0]["WORLD.ROUND"] == 2 and (
            timestep.observation[0]["WORLD.PHASE"] == 1):
          raise KeyboardInterrupt
      return original(env, bots, stop_in_round_2)

    with absltest.mock.patch.object(game, "play_episode", interrupted):
      with self.assertRaises(KeyboardInterrupt):
        game.run(prepared, progress=False)
    lines = pathlib.Path(out, "rounds.jsonl").read_text().splitlines()
    self.assertLen(lines, 1)
    self.assertEqual(json.loads(lines[0])["round"], 1)
    self.assertFalse(any(name.endswith(".partial") for name in os.listdir(out)))

  @parameterized.named_parameters(
      ("rule", ["--rule", "dictator"], "plurality"),
      ("principal", ["--principal", "oracle"], "hand_rule"),
      ("bots", ["--bots", "greedy,ninja"], "sustainable"),
      ("rate_count", ["--phi0", "0.1,0.2"], "needs 3 rates"),
      ("rate_range", ["--phi0", "0.1,0.2,1.5"], r"\[0, 1\]"),
      ("rate_nan", ["--phi0", "0.1,nan,0.2"], r"\[0, max_rate\]"),
      ("rate_above_max_rate", ["--phi0", "0,2,5", "--max-rate", "4"],
       r"initial_rates must lie in \[0, 4\] \(max_rate\)"),
      ("max_rate_below_1", ["--max-rate", "0.5"], r"max_rate.*\[1, 100\]"),
      ("bracket_window", ["--bracket-window", "-1"],
       r"bracket_window must be an integer >= 0"),
      ("redistribution", ["--redistribution", "x"], "equal.*below_mean"),
      ("delta", ["--delta", "-0.1"], "delta must be a number >= 0"),
      ("rounds", ["--rounds", "0"], "rounds must be an integer >= 1"),
      ("steps", ["--steps", "0"], "harvest_steps must be an integer >= 1"),
      ("vote_steps", ["--vote-steps", "0"], "vote_steps"),
      ("players", ["--players", "17"], "2 to 16 players"),
      ("preferences", ["--preferences", "astrology"], "uniform"),
      ("objective", ["--preferences", "fixed:wealth"], "egalitarian"),
      ("divergence", ["--divergence", "kl"], "linf"),
      ("substrate", ["--substrate", "harvest"], "umd_apple_harvest__open"),
      ("effort_cost", ["--effort-cost", "-1"],
       r"--effort-cost: effort_cost must be a finite number >= 0, got -1"),
      ("skills_count", ["--skills", "1,2"],
       r"--skills: skills must be empty \(every skill 1\) or have one "
       r"value per player \(4\), each a finite number > 0; got \(1.0, 2.0\)"),
      ("skills_zero", ["--skills", "1,0,1,1"], r"--skills: skills .* > 0"),
      ("skills_text", ["--skills", "1,x"],
       r"argument --skills: skills\[1\] must be a number, got 'x'"),
      ("best_response_with_skills",
       ["--substrate", "umd_apple_harvest__unequal", "--bots",
        "best_response"],
       r"--bots best_response cannot play this game: .* skills "
       r"0.629,0.745,0.961,1.66 and effort_cost 0.3; choose other --bots"),
      ("best_response_with_effort", ["--bots", "best_response:x.json",
                                     "--effort-cost", "0.1"],
       r"best_response:x.json cannot play .* effort_cost 0.1;"),
  )
  def test_bad_input_fails_before_any_folder_is_written(self, flags, message):
    out = self.create_tempdir().full_path + "/run"
    code, stderr = helpers.umd_with_stderr("run", *flags, "--out", out)
    self.assertEqual(code, 2)
    self.assertRegex(stderr, message)
    self.assertFalse(os.path.exists(out))

  def test_unequal_run_records_effort_and_plays_random_greedy(self):
    out = self.create_tempdir().full_path + "/run"
    code = helpers.umd("run", "--substrate", "umd_apple_harvest__unequal",
                       "--rounds", "1", "--steps", "40", "--vote-steps", "2",
                       "--bots", "greedy", "--quiet", "--out", out)
    self.assertEqual(code, 0)
    config = json.load(open(f"{out}/config.json"))
    skills = np.array(config["substrate_config"]["skills"])
    self.assertLen(skills, 4)
    self.assertEqual(config["substrate_config"]["effort_cost"], 0.3)
    (record,) = [json.loads(line) for line in open(f"{out}/rounds.jsonl")]
    self.assertContainsSubset(_RECORD_KEYS | {"effort"}, record)
    gross, effort = np.array(record["gross"]), np.array(record["effort"])
    self.assertGreater(gross.sum(), 0)  # Greedy bots ate.
    # Each apple is worth its eater's skill and costs it 0.3.
    np.testing.assert_allclose(effort, 0.3 * np.round(gross / skills),
                               atol=1e-9)
    np.testing.assert_allclose(
        record["returns"],
        np.add(record["net"], record["transfer"]) - effort, atol=1e-9)
    self.assertAlmostEqual(record["metrics"]["utilitarian"],
                           gross.sum() - effort.sum())

  def test_unequal_default_bots_are_the_fallback(self):
    # best_response's tables model neither skills nor effort.
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__unequal",
        out=self.create_tempdir().full_path + "/run"), agents.FACTORY)
    self.assertEqual(",".join(dict.fromkeys(prepared.bot_names)),
                     factory.FALLBACK_BOTS)
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__unequal", skills=(), effort_cost=0.0,
        out=self.create_tempdir().full_path + "/run"), agents.FACTORY)
    self.assertEqual(prepared.bot_names, ("best_response",))

  def test_skills_follow_the_player_count(self):
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__unequal", players=6,
        out=self.create_tempdir().full_path + "/run"), agents.FACTORY)
    self.assertLen(prepared.substrate_config.skills, 6)
    prepared = game.prepare(game.GameConfig(
        substrate="umd_apple_harvest__small", skills=(0.5, 1.0, 1.5),
        players=3, out=self.create_tempdir().full_path + "/run"),
        agents.FACTORY)
    self.assertEqual(prepared.substrate_config.skills, (0.5, 1.0, 1.5))

  def test_umd_list_shows_players_and_phases(self):
    with absltest.mock.patch("sys.stdout") as stdout:
      self.assertEqual(helpers.umd("list"), 0)
    text = "".join(call.args[0] for call in stdout.write.call_args_list)
    self.assertRegex(text, r"umd_apple_harvest__open\s+7\s+5\s+10\s+200")
    self.assertRegex(text, r"umd_apple_harvest__small\s+4\s+")
    for name in substrate.SUBSTRATES:
      self.assertIn(name, text)


class ConsoleScriptTest(absltest.TestCase):

  def test_umd_run_as_a_user_runs_it(self):
    out = self.create_tempdir().full_path + "/run"
    result = helpers.run_umd(*_SMALL[:-1], "--out", out, timeout=300)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("objective", result.stdout)  # The per-round table.
    self.assertIn("step", result.stderr)  # The progress bar.
    self.assertLen(pathlib.Path(out, "rounds.jsonl").read_text().splitlines(),
                   2)


if __name__ == "__main__":
  absltest.main()
