"""Every bad input gets a clear error (issue 15): checkpoint contents, run
folders that cannot be written, a read-only install, and the small ones
(bracket edges, env_seed, --seed, a negative --phi0, --effort-cost,
--skills, --ray-address, --objectives and --preferences)."""

import contextlib
import io
import json
import math
import os
import pathlib
import subprocess
import sys
import textwrap

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
from absl.testing import parameterized
import hypothesis
from hypothesis import strategies as st
import numpy as np

from tests import helpers
from tests.test_principal_training import _SCHEDULE
from tests.test_principal_training import _trained
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot import substrate
from umd_meltingpot.agents.ppo import policy
from umd_meltingpot.principal import checkpoint as principal_checkpoint
from umd_meltingpot.social_choice import welfare

_PPO = dict(np.load(policy.DEFAULT_CHECKPOINT))
_PPO_CONFIG = json.loads(str(_PPO["config"]))
_TINY = ["--substrate", "umd_apple_harvest__small", "--rounds", "1",
         "--steps", "5", "--vote-steps", "2", "--quiet"]


def _changed(arrays, **changes):
  """`arrays` with entries replaced (names use "__" for "/")."""
  changed = dict(arrays)
  changed.update({name.replace("__", "/"): value
                  for name, value in changes.items()})
  return changed


def _ppo_config(**changes):
  return np.array(json.dumps({**_PPO_CONFIG, **changes}))


class CheckpointContentsTest(parameterized.TestCase):
  """Class 1: a checkpoint is checked entry by entry when it is loaded."""

  def setUp(self):
    super().setUp()
    self.folder = pathlib.Path(self.create_tempdir().full_path)

  @parameterized.named_parameters(
      ("format_array", dict(format=np.array([1, 1])), "'format'"),
      ("counter_array", dict(counters__updates=np.array([1, 2])),
       "'counters/updates'"),
      ("counter_negative", dict(counters__updates=np.int64(-1)),
       "'counters/updates'"),
      ("params_strings", dict(params__actor__logits__b=np.array(["a"] * 8)),
       "'params/actor/logits/b'"),
      ("params_nan", dict(params__actor__logits__b=np.full(8, np.nan)),
       "'params/actor/logits/b'"),
      ("params_shape", dict(params__actor__logits__b=np.zeros(9, np.float32)),
       "params/actor/logits/b"),
      ("rng_float", dict(rng__actor=np.zeros(2)), "'rng/actor'"),
      ("rng_shape", dict(rng__actor=np.zeros(3, np.uint32)), "'rng/actor'"),
      ("opt_state_strings", dict(opt_state__00000=np.array("x")),
       "'opt_state/00000'"),
      ("config_number", dict(config=np.array(5)), "'config'"),
      ("config_list", dict(config=np.array("[1, 2]")), "config"),
      ("hidden_size_negative", dict(config=_ppo_config(
          ppo={**_PPO_CONFIG["ppo"], "hidden_size": -3})), "hidden_size"),
      ("num_rates_fraction", dict(config=_ppo_config(num_rates=1.5)),
       "'num_rates'"),
      ("unexpected_entry", dict(junk=np.zeros(1)), "junk"),
  )
  def test_bad_ppo_checkpoint_exits_2_naming_file_and_entry(self, changes,
                                                            entry):
    path = self.folder / "ppo.npz"
    np.savez(path, **_changed(_PPO, **changes))
    out = self.folder / "run"
    for command in (["run", *_TINY, "--bots", f"ppo:{path}"],
                    ["evaluate", "--population", f"ppo:{path}", "--scenario",
                     "umd_apple_harvest__small_0", "--episodes", "1",
                     "--quiet"]):
      with self.subTest(command=command[0]):
        code, stderr = helpers.umd_with_stderr(*command, "--out", str(out))
        self.assertEqual(code, 2, stderr)
        self.assertIn(str(path), stderr)
        self.assertIn(entry, stderr)
        self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
        self.assertFalse(out.exists())

  def _bandit_arrays(self):
    path = self.folder / "good.npz"
    principal_checkpoint.save(path, "bandit", _trained("bandit"), _SCHEDULE)
    return dict(np.load(path))

  @parameterized.named_parameters(
      ("pulls_resized", "state/pulls/utilitarian", np.zeros(10),
       "pulls/utilitarian"),
      ("pulls_short", "state/pulls/utilitarian", np.zeros(7),
       "reward_sums/utilitarian' must have shape \\(7,\\)"),
      ("pulls_negative", "state/pulls/utilitarian", -np.ones(9),
       "pulls/utilitarian"),
      ("sums_nan", "state/reward_sums/utilitarian", np.full(9, np.nan),
       "reward_sums/utilitarian"),
      ("improvements_2d", "state/improvements/utilitarian", np.zeros((2, 2)),
       "improvements/utilitarian"),
      ("state_strings", "state/pulls/utilitarian", np.array(["a"] * 9),
       "state/pulls/utilitarian"),
  )
  def test_bad_bandit_state_is_refused_naming_the_entry(self, name, value,
                                                        entry):
    path = self.folder / "p.npz"
    np.savez(path, **{**self._bandit_arrays(), name: value})
    with self.assertRaisesRegex(ValueError, entry) as raised:
      principal_checkpoint.load(path, num_brackets=3)
    self.assertIn(str(path), str(raised.exception))

  @parameterized.named_parameters(
      ("edges_number", dict(edges=5), "'edges'"),
      ("edges_unordered", dict(edges=[10.0, 5.0]), "'edges'"),
      ("edges_count", dict(edges=[5.0]), "edges"),
      ("counters_list", dict(counters=[1, 2]), "'counters'"),
      ("counters_negative", dict(counters={"games": -1}), "'counters'"),
      ("principal_unknown", dict(principal="fixed"), "'principal'"),
      ("brackets_zero", dict(num_brackets=0), "'num_brackets'"),
      ("state_list", dict(state=[]), "'state'"),
      ("format_text", dict(format="1"), "'format'"),
  )
  def test_bad_principal_header_is_refused_naming_the_field(self, changes,
                                                            field):
    arrays = self._bandit_arrays()
    header = {**json.loads(str(arrays["header"])), **changes}
    path = self.folder / "p.npz"
    np.savez(path, **{**arrays, "header": np.array(json.dumps(header))})
    with self.assertRaisesRegex(ValueError, field) as raised:
      principal_checkpoint.load(path)
    self.assertIn(str(path), str(raised.exception))

  def test_bad_bandit_checkpoint_exits_2_before_any_folder(self):
    path = self.folder / "p.npz"
    np.savez(path, **{**self._bandit_arrays(),
                      "state/pulls/utilitarian": np.zeros(10)})
    out = self.folder / "run"
    code, stderr = helpers.umd_with_stderr(
        "run", *_TINY, "--principal", str(path), "--out", str(out))
    self.assertEqual(code, 2, stderr)
    self.assertIn("pulls/utilitarian", stderr)
    self.assertFalse(out.exists())

  @parameterized.parameters(
      ("told_points", "told_points"), ("told_values", "told_values"),
      # A longer x0 is another k, which the points saved do not have.
      ("x0", "told_points/utilitarian' must have shape"))
  def test_bad_cma_state_is_refused_naming_the_entry(self, key, message):
    path = self.folder / "cma.npz"
    principal_checkpoint.save(path, "cma", _trained("cma", rounds=12),
                              _SCHEDULE)
    arrays = dict(np.load(path))
    name = f"state/{key}/utilitarian"
    arrays[name] = np.concatenate([arrays[name].reshape(-1), [0.5]])
    np.savez(path, **arrays)
    with self.assertRaisesRegex(ValueError, message):
      principal_checkpoint.load(path, num_brackets=3)


_MUTATIONS = ("dtype_str", "dtype_float", "dtype_int", "dtype_bool",
              "shape_grow", "shape_axis", "shape_scalar", "nan", "inf",
              "negative", "huge")


def _mutate(value: np.ndarray, mutation: str) -> np.ndarray:
  if mutation == "dtype_str":
    return value.astype(str)
  if mutation in ("dtype_float", "dtype_int", "dtype_bool"):
    kind = {"dtype_float": np.float64, "dtype_int": np.int64,
            "dtype_bool": bool}[mutation]
    try:
      return value.astype(kind)
    except ValueError:  # A string entry (the config).
      return np.zeros(value.shape, kind)
  if mutation == "shape_grow":
    return np.concatenate([value.reshape(-1), value.reshape(-1)[:1]])
  if mutation == "shape_axis":
    return value[None]
  if mutation == "shape_scalar":
    return value.reshape(-1)[0] if value.size else value.reshape(())
  if value.dtype.kind == "U":
    return np.array("{" + str(value))  # Corrupt JSON.
  number = {"nan": np.nan, "inf": np.inf, "negative": -1.0,
            "huge": 2.0 ** 40}[mutation]
  if value.dtype.kind in "iu" and mutation in ("nan", "inf"):
    return np.full(value.shape, number)
  return np.full(value.shape, number).astype(
      value.dtype if value.dtype.kind == "f" else np.int64)


class CheckpointFuzzTest(parameterized.TestCase):
  """Any one entry of a real checkpoint, mutated, loads cleanly or raises a
  ValueError naming the entry; never another exception."""

  @hypothesis.settings(max_examples=40, deadline=None)
  @hypothesis.given(name=st.sampled_from(sorted(_PPO)),
                    mutation=st.sampled_from(_MUTATIONS))
  def test_ppo_checkpoint(self, name, mutation):
    folder = pathlib.Path(self.create_tempdir().full_path)
    path = folder / "ppo.npz"
    np.savez(path, **{**_PPO, name: _mutate(_PPO[name], mutation)})
    try:
      policy.load(path)
    except ValueError as error:
      self.assertIn(name.split("/")[-1], str(error))

  @hypothesis.settings(max_examples=40, deadline=None)
  @hypothesis.given(principal=st.sampled_from(["bandit", "cma"]),
                    data=st.data(), mutation=st.sampled_from(_MUTATIONS))
  def test_principal_checkpoint(self, principal, data, mutation):
    folder = pathlib.Path(self.create_tempdir().full_path)
    path = folder / "p.npz"
    principal_checkpoint.save(path, principal, _trained(principal, 12),
                              _SCHEDULE)
    arrays = dict(np.load(path))
    name = data.draw(st.sampled_from(sorted(arrays)))
    np.savez(path, **{**arrays, name: _mutate(arrays[name], mutation)})
    try:
      principal_checkpoint.load(path, num_brackets=3)
    except ValueError as error:
      # The entry's key or its objective: an entry whose shape no longer
      # fits may be reported at the first of its siblings that disagrees.
      parts = name.split("/")[1:] or [name]
      self.assertTrue(any(part in str(error) for part in parts), (name,
                                                                  error))


def _unwritable_places(folder: pathlib.Path) -> list[tuple[str, str]]:
  """(an --out that cannot be written, what the error says), for this
  machine; /sys refuses writes even to root where it is mounted so."""
  a_file = folder / "a-file"
  a_file.write_text("")
  places = [(str(a_file / "run"), "is not a folder"),
            (str(a_file / "deeper" / "run"), "is not a folder")]
  if os.path.isdir("/sys") and not os.access("/sys", os.W_OK):
    places.append(("/sys/umd-run", "not writable"))
  if os.path.isdir("/proc"):
    places.append(("/proc/umd-run", "not writable"))
  return places


class UnwritableOutputTest(parameterized.TestCase):
  """Class 2: a run folder that cannot be written is refused up front."""

  @parameterized.named_parameters(
      ("run", ["run", *_TINY]),
      ("evaluate", ["evaluate", "--population", "greedy", "--scenario",
                    "umd_apple_harvest__small_0", "--episodes", "1",
                    "--quiet"]),
      ("train_followers", ["train", "followers", "--substrate",
                           "umd_apple_harvest__small", "--total-steps", "64",
                           "--quiet"]),
      ("train_principal", ["train", "principal", "--principal", "bandit",
                           "--substrate", "umd_apple_harvest__small",
                           "--games", "1", "--quiet"]),
  )
  def test_exits_2_with_one_line(self, command):
    folder = pathlib.Path(self.create_tempdir().full_path)
    for out, reason in _unwritable_places(folder):
      with self.subTest(out=out):
        code, stderr = helpers.umd_with_stderr(*command, "--out", out)
        self.assertEqual(code, 2, stderr)
        self.assertIn(reason, stderr)
        self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
        self.assertFalse(os.path.exists(out))

  def test_only_a_game_that_writes_needs_a_writable_folder(self):
    # Trainers, PettingZoo and `umd play` prepare games that write nothing;
    # `run` writes the run folder and refuses one it cannot write.
    prepared = game_lib.prepare(game_lib.GameConfig(
        substrate="umd_apple_harvest__small", rounds=1, steps=2,
        out="/proc/umd-run"), agents.FACTORY)
    with self.assertRaisesRegex(ValueError, "not writable"):
      game_lib.run(prepared, progress=False)
    self.assertFalse(os.path.exists("/proc/umd-run"))

  def test_check_writable_leaves_nothing_behind(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    runs.check_new_folder(folder / "new" / "run")
    self.assertEqual(list(folder.iterdir()), [])


_NO_WRITES_UNDER_PREF_VOTING = textwrap.dedent("""
    import os, sys
    import pref_voting
    package = os.path.dirname(os.path.abspath(pref_voting.__file__))
    WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    def hook(event, args):
      if event != "open":
        return
      path, mode, flags = args
      writes = (mode is not None and any(c in mode for c in "wax+")) or (
          mode is None and (flags or 0) & WRITE)
      if writes and os.path.abspath(os.fsdecode(path)).startswith(package):
        print("WRITE " + os.fsdecode(path), file=sys.stderr)
        os._exit(3)
    sys.addaudithook(hook)
    import numpy as np
    from umd_meltingpot.cli import commands as cli
    from umd_meltingpot.social_choice import voting
    for rule in voting.RULES:
      voting.elect(rule, voting.profile_from_world_ballots(
          np.array([[1, 2, 0], [2, 1, 0], [1, 0, 2]]), ("a", "b", "c")),
                   rng=np.random.default_rng(0))
    sys.exit(cli.main(["list"]))
""")


class ReadOnlyInstallTest(absltest.TestCase):
  """Class 3: nothing under pref_voting's package folder is opened for
  writing (an audit hook stands in for a read-only site-packages, which
  root, who runs the tests, could write anyway)."""

  def test_umd_list_and_every_rule_write_nothing_in_the_install(self):
    cache = self.create_tempdir().full_path
    result = subprocess.run(
        [sys.executable, "-c", _NO_WRITES_UNDER_PREF_VOTING],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "XDG_CACHE_HOME": cache})
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("umd_apple_harvest__small", result.stdout)
    self.assertTrue(list(pathlib.Path(cache).rglob("*.lock-*")))


class SmallOnesTest(parameterized.TestCase):
  """Class 5, and --brackets (issue 14)."""

  @parameterized.named_parameters(
      ("edges_inf", (5.0, math.inf), (0.0, 0.0, 0.0), "bracket_edges"),
      ("edges_unordered", (10.0, 5.0), (0.0, 0.0, 0.0), "increasing"),
      ("edges_nan", (math.nan,), (0.0, 0.0), "bracket_edges"),
      ("edges_zero", (0.0,), (0.0, 0.0), "bracket_edges"),
  )
  def test_build_from_config_refuses_bad_edges(self, edges, rates, message):
    config = substrate.get_config("umd_apple_harvest__small")
    with config.unlocked():
      config.bracket_edges = edges
      config.initial_rates = rates
    with self.assertRaisesRegex(ValueError, message):
      substrate.build_from_config(config, roles=["default"] * 4)

  @parameterized.parameters((1.5,), ("abc",), (-1,), (True,), ([1],))
  def test_bad_env_seed_is_named(self, env_seed):
    config = substrate.get_config("umd_apple_harvest__small")
    with self.assertRaisesRegex(ValueError, "env_seed"):
      substrate.build_from_config(config, roles=["default"] * 4,
                                  env_seed=env_seed)
    with self.assertRaisesRegex(ValueError, "env_seed"):
      substrate.SubstrateFactory(config, env_seed=env_seed)

  @parameterized.named_parameters(
      ("seed_negative", ["--seed", "-1"], "argument --seed"),
      ("seed_fraction", ["--seed", "1.5"], "argument --seed"),
      ("seed_text", ["--seed", "abc"], "argument --seed"),
      ("phi0_negative", ["--phi0", "-0.1,0,0"], "rates[0]"),
      ("phi0_negative_point", ["--phi0", "-.5,0,0"], "rates[0]"),
      ("brackets_unordered", ["--brackets", "10,5"], "strictly increasing"),
      ("brackets_inf", ["--brackets", "5,inf"], "finite number"),
      ("delta_negative", ["--delta", "-1"], "delta"),
      ("effort_negative", ["--effort-cost", "-0.5"],
       "--effort-cost: effort_cost must be a finite number >= 0, got -0.5"),
      ("effort_text", ["--effort-cost", "lots"], "argument --effort-cost"),
      ("skills_text", ["--skills", "1,x,1,1"],
       "argument --skills: skills[1] must be a number, got 'x'"),
      ("skills_count", ["--skills", "1,2"],
       "--skills: skills must be empty (every skill 1) or have one value "
       "per player (4)"),
      ("skills_negative", ["--skills", "-1,1,1,1"],
       "each a finite number > 0; got (-1.0, 1.0, 1.0, 1.0)"),
  )
  def test_cli_names_the_flag_and_problem(self, flags, message):
    out = self.create_tempdir().full_path + "/run"
    for command in (["run", *_TINY], ["train", "followers", "--substrate",
                                      "umd_apple_harvest__small"]):
      if command[0] == "train" and flags[0] == "--phi0":
        continue  # Same parser; one command is enough.
      with self.subTest(command=command[0]):
        code, stderr = helpers.umd_with_stderr(*command, *flags, "--out", out)
        self.assertEqual(code, 2, stderr)
        self.assertIn(message, stderr)
        self.assertNotIn("expected one argument", stderr)
        self.assertFalse(os.path.exists(out))


_BALLOT = ("at least 2 distinct names from ('utilitarian', 'egalitarian', "
           "'nash', 'power_mean', 'eq_times_prod')")


class BallotFlagsTest(parameterized.TestCase):
  """`umd run --objectives` and `--preferences fixed:N*A>B>...` (issue
  23): one line naming the flag, the problem and the valid values, before
  anything is written."""

  @parameterized.named_parameters(
      ("objectives_unknown", ["--objectives", "utilitarian,wealth"],
       f"--objectives: objectives must be {_BALLOT}, got ('utilitarian', "
       "'wealth')"),
      ("objectives_one", ["--objectives", "nash"],
       f"--objectives: objectives must be {_BALLOT}, got ('nash',)"),
      ("objectives_twice", ["--objectives", "nash,utilitarian,nash"],
       f"--objectives: objectives must be {_BALLOT}, got ('nash', "
       "'utilitarian', 'nash')"),
      ("objectives_empty_name", ["--objectives", "nash,,utilitarian"],
       f"--objectives: objectives must be {_BALLOT}, got ('nash', '', "),
      # _TINY's 2 vote steps cannot cast a ranking of 5.
      ("objectives_vote_steps",
       ["--objectives", "utilitarian,egalitarian,nash,power_mean,"
        "eq_times_prod"],
       "--vote-steps: vote_steps must be >= 4 (K - 1 for the 5 objectives"),
      ("groups_too_few", ["--preferences",
                          "fixed:3*nash>utilitarian>egalitarian"],
       "--preferences: the group sizes add up to 3 players, but the game has "
       "4; they must add up to the number of players"),
      ("groups_too_many", ["--preferences",
                           "fixed:3*nash>utilitarian>egalitarian;"
                           "2*utilitarian>nash>egalitarian"],
       "--preferences: the group sizes add up to 3 + 2 = 5 players, but the "
       "game has 4"),
      ("ranking_partial", ["--preferences", "fixed:4*nash>utilitarian"],
       "--preferences: the ranking 'nash>utilitarian' leaves out "
       "['egalitarian']; a ranking names every objective on the ballot "
       "('utilitarian', 'egalitarian', 'nash') once, best first"),
      ("ranking_twice", ["--preferences",
                         "fixed:4*nash>utilitarian>nash>egalitarian"],
       "names ['nash'] twice"),
      ("ranking_off_the_ballot",
       ["--preferences", "fixed:4*nash>utilitarian>power_mean"],
       "--preferences: Unknown objective 'power_mean'; valid objectives are "
       "('utilitarian', 'egalitarian', 'nash')"),
      ("ranking_off_the_chosen_ballot",
       ["--objectives", "nash,power_mean", "--preferences",
        "fixed:4*nash>utilitarian"],
       "Unknown objective 'utilitarian'; valid objectives are ('nash', "
       "'power_mean')"),
      ("group_count_zero", ["--preferences",
                            "fixed:0*nash>utilitarian>egalitarian;"
                            "4*nash>utilitarian>egalitarian"],
       "--preferences: group 1 of preference spec 'fixed:0*nash>utilitarian"
       ">egalitarian;4*nash>utilitarian>egalitarian' counts '0' players; "
       "each group is N*OBJ>OBJ>... (N players, N an integer >= 1; no N: "
       "one), or principal*OBJ>OBJ>... (the principal's type)"),
      ("group_empty", ["--preferences",
                       "fixed:4*nash>utilitarian>egalitarian;"],
       "group 2 of preference spec 'fixed:4*nash>utilitarian>egalitarian;' "
       "is ''"),
      ("favourite_unknown", ["--preferences", "fixed:wealth"],
       "--preferences: Unknown objective 'wealth'"),
  )
  def test_run_exits_2_with_one_line(self, flags, message):
    out = self.create_tempdir().full_path + "/run"
    code, stderr = helpers.umd_with_stderr("run", *_TINY, *flags,
                                           "--out", out)
    self.assertEqual(code, 2, stderr)
    self.assertIn(message, stderr)
    self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
    self.assertTrue(stderr.startswith("umd run: error: "), stderr)
    self.assertFalse(os.path.exists(out))

  def test_the_help_lists_every_objective(self):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
      self.assertEqual(helpers.umd("run", "--help"), 0)
    help_text = " ".join(stdout.getvalue().split())
    self.assertIn("(names: " + ", ".join(welfare.OBJECTIVES) + ")",
                  help_text)


class FollowerSkillOptionTest(parameterized.TestCase):
  """`umd train followers --skill-draw/--tax-cap` (issue 22): one line
  naming the flag and the valid values, before anything is written."""

  @parameterized.named_parameters(
      ("draw_unknown", ["--skill-draw", "shuffle", "--observe-skill"],
       "--skill-draw: skill_draw must be fixed, permute or uniform:LO,HI "
       "(0 < LO < HI), got 'shuffle'"),
      ("draw_reversed", ["--skill-draw", "uniform:2,0.5", "--observe-skill"],
       "got 'uniform:2,0.5'"),
      ("draw_blind", ["--skill-draw", "permute"],
       "--skill-draw permute draws skills the followers could only learn "
       "from by reading them; it needs --observe-skill"),
      ("cap_negative", ["--tax-cap", "-1", "--principal", "random"],
       "--tax-cap: tax_cap must be None or a finite number >= 0"),
      ("cap_fixed_principal", ["--tax-cap", "1", "--principal", "fixed"],
       "--tax-cap cap the random principal's draws; they need --principal "
       "random, got 'fixed'"),
  )
  def test_exits_2_with_one_line(self, flags, message):
    out = self.create_tempdir().full_path + "/run"
    code, stderr = helpers.umd_with_stderr(
        "train", "followers", "--substrate", "umd_apple_harvest__unequal",
        *flags, "--out", out)
    self.assertEqual(code, 2, stderr)
    self.assertIn(message, stderr)
    self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
    self.assertFalse(os.path.exists(out))


class PrincipalOptionTest(parameterized.TestCase):
  """`umd train principal`'s principal options (issue 21): one line naming
  the flag and the valid values, before anything is written."""

  @parameterized.named_parameters(
      ("arms", "ucb_constant", ["--arms", "0"],
       "--arms: arms must be an integer >= 2, got 0"),
      ("epsilon", "epsilon_greedy", ["--epsilon", "1.5"],
       "--epsilon: epsilon must be a finite number in [0, 1], got 1.5"),
      ("window", "sw_ucb_constant", ["--window", "0"],
       "--window: window must be an integer >= 1, got 0"),
      ("window_text", "sw_ucb_constant", ["--window", "x"],
       "argument --window: must be an integer, got 'x'"),
      ("not_taken", "ucb_constant", ["--window", "5"],
       "--window: principal 'ucb_constant' does not take it; its options: "
       "--arms, --top"),
      ("sampler", "bo", ["--sampler", "gp"],
       "--sampler: sampler must be one of ['tpe', 'random'], got 'gp'"),
      ("batch", "bo_dynamic", ["--batch", "0"],
       "--batch: batch must be an integer >= 1, got 0"),
      ("workers_one_game_at_a_time", "cma", ["--workers", "2"],
       "--workers 2: principal 'cma' learns after every game, so its games "
       "cannot run in parallel; the principals whose games can: bo, "
       "bo_dynamic"),
      ("workers_negative", "bo", ["--workers", "-1"],
       "workers must be an integer >= 0, got -1"),
  )
  def test_exits_2_with_one_line(self, principal, flags, message):
    out = self.create_tempdir().full_path + "/run"
    code, stderr = helpers.umd_with_stderr(
        "train", "principal", "--principal", principal, *flags, "--out", out,
        *_TINY)
    self.assertEqual(code, 2, stderr)
    self.assertIn(message, stderr.splitlines()[-1])
    if not message.startswith("argument"):  # argparse's own adds usage.
      self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
    self.assertFalse(os.path.exists(out))


_RAY_ADDRESSES = ("ray_address must be auto (the running cluster), local (a "
                  "new Ray here), HOST:PORT (a cluster's head) or "
                  "ray://HOST:PORT (Ray Client), got ")


class RayAddressTest(parameterized.TestCase):
  """--ray-address (issue 20): one line naming it and what is valid, before
  anything is written or Ray starts."""

  @parameterized.named_parameters(
      ("no_port", ["train", "followers"], "head-node",
       _RAY_ADDRESSES + "'head-node'"),
      ("dashboard", ["train", "followers"], "http://head:8265",
       _RAY_ADDRESSES + "'http://head:8265'"),
      ("nobody_there", ["train", "followers"], "127.0.0.1:1",
       "ray_address must be the address of a running Ray cluster, or local; "
       "nothing answers at 127.0.0.1:1"),
      ("grid", ["grid", "--rates", "0", "--seeds", "0"], "head-node",
       _RAY_ADDRESSES + "'head-node'"),
  )
  def test_exits_2_with_one_line(self, command, address, message):
    out = self.create_tempdir().full_path + "/run"
    code, stderr = helpers.umd_with_stderr(*command, "--ray-address",
                                           address, "--quiet", "--out", out)
    self.assertEqual(code, 2, stderr)
    self.assertIn(message, stderr)
    self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
    self.assertFalse(os.path.exists(out))

  def test_needs_workers(self):
    code, stderr = helpers.umd_with_stderr(
        "train", "followers", "--ray-address", "local", "--num-workers", "0",
        "--quiet")
    self.assertEqual(code, 2, stderr)
    self.assertEqual(stderr.splitlines(), [
        "umd train followers: error: --ray-address local runs the workers "
        "as Ray actors; it needs --num-workers >= 1, got 0"])


if __name__ == "__main__":
  absltest.main()
