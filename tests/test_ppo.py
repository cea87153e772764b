"""PPO followers: GAE, the loss, the learner, the actor, checkpoints, policy."""

import dataclasses
import os

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
from absl.testing import parameterized
import dm_env
import jax
import jax.numpy as jnp
from meltingpot.testing import bots as bots_testing
import numpy as np
import tree

from tests import fakes
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game
from umd_meltingpot import substrate
from umd_meltingpot.agents import bots
from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.training import follower_actor as actor_lib
from umd_meltingpot.ppo import algorithm
from umd_meltingpot.ppo import checkpoint
from umd_meltingpot.agents.ppo import config as config_lib
from umd_meltingpot.training import follower_env as environment
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.agents.ppo import learning
from umd_meltingpot.agents.ppo import networks as networks_lib
from umd_meltingpot.agents.ppo import policy as policy_lib

_SMALL = "umd_apple_harvest__small"
_FACTORY = substrate.get_factory(_SMALL)
_NUM_RATES = 3


def _networks(observation: str = "symbolic", hidden_size: int = 16):
  return networks_lib.make_networks(
      observation=observation, num_rates=_NUM_RATES, hidden_size=hidden_size,
      num_hidden_layers=1, max_agents=4)


def _observations(rng: np.random.Generator, shape: tuple[int, ...],
                  observation: str = "symbolic") -> dict[str, np.ndarray]:
  vector = np.zeros(shape + (features.vector_size(_NUM_RATES),), np.float32)
  vector[..., 2] = 1.0  # HARVEST.
  obs = {"vector": vector,
         "agent_id": rng.integers(0, 4, shape).astype(np.int32)}
  if observation == "symbolic":
    obs["grid"] = rng.integers(0, 4, shape + (11, 11)).astype(np.int8)
  else:
    obs["rgb"] = rng.integers(0, 256, shape + (88, 88, 3)).astype(np.uint8)
  return obs


def _batch(rng: np.random.Generator, steps: int = 6, slots: int = 4,
           observation: str = "symbolic") -> learning.Batch:
  discount = np.ones((steps, slots), np.float32)
  discount[steps // 2, 0] = 0.0  # One episode ends mid-way.
  return learning.Batch(
      observation=_observations(rng, (steps, slots), observation),
      action=rng.integers(0, networks_lib.NUM_ACTIONS,
                          (steps, slots)).astype(np.int32),
      log_prob=np.full((steps, slots), -np.log(8.0), np.float32),
      value=rng.normal(size=(steps, slots)).astype(np.float32),
      reward=rng.integers(0, 2, (steps, slots)).astype(np.float32),
      discount=discount,
      bootstrap_value=rng.normal(size=slots).astype(np.float32))


def _gae_loop(rewards, values, discounts, bootstrap, lam):
  """GAE the slow way: one slot, one step at a time."""
  steps, slots = rewards.shape
  advantages = np.zeros((steps, slots))
  for slot in range(slots):
    next_advantage, next_value = 0.0, bootstrap[slot]
    for t in reversed(range(steps)):
      delta = (rewards[t, slot] + discounts[t, slot] * next_value
               - values[t, slot])
      next_advantage = delta + discounts[t, slot] * lam * next_advantage
      advantages[t, slot] = next_advantage
      next_value = values[t, slot]
  return advantages


def _learner(networks, batches, seed: int = 0, **overrides):
  kwargs = dict(discount=0.99, gae_lambda=0.95, clip_epsilon=0.2,
                entropy_cost=0.01, value_cost=0.5, num_epochs=2,
                num_minibatches=2)
  kwargs.update(overrides)
  return learning.PPOLearner(
      networks, iter(batches), learning.make_optimizer(1e-3, 1e-5, 0.5),
      jax.random.PRNGKey(seed), **kwargs)


def _gae_segments(rewards, values, next_values, discounts, continues, lam):
  """GAE the other slow way: cut the steps into chains of successors and run
  the textbook recursion on each chain, bootstrapped by its last next value.
  """
  advantages, start = np.zeros(len(rewards)), 0
  for end in range(len(rewards)):
    if continues[end] and end + 1 < len(rewards):
      continue
    chain = range(start, end + 1)
    following = 0.0
    for t in reversed(chain):
      successor = next_values[t] if t == end else values[t + 1]
      delta = rewards[t] + discounts[t] * successor - values[t]
      following = delta + discounts[t] * lam * following
      advantages[t] = following
    start = end + 1
  return advantages


class GaeTest(parameterized.TestCase):
  """`algorithm.gae`, which the followers and the RL principal share."""

  @parameterized.parameters(0.0, 0.9, 1.0)
  def test_time_major_rollout_matches_a_plain_loop(self, lam):
    rng = np.random.default_rng(1)
    rewards = rng.normal(size=(9, 3))
    values = rng.normal(size=(9, 3))
    discounts = 0.97 * (rng.random((9, 3)) > 0.2)
    bootstrap = rng.normal(size=3)
    advantages, targets = algorithm.gae(
        jnp.asarray(rewards), jnp.asarray(values),
        algorithm.successor_values(jnp.asarray(values),
                                   jnp.asarray(bootstrap)),
        jnp.asarray(discounts), jnp.ones((9, 3)), lam)
    expected = _gae_loop(rewards, values, discounts, bootstrap, lam)
    np.testing.assert_allclose(advantages, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(targets, expected + values, rtol=1e-5,
                               atol=1e-5)

  @parameterized.parameters(0.0, 0.9, 1.0)
  def test_unchained_steps_match_a_loop_over_chains(self, lam):
    # Rounds of several games, as the principal learns from them: a chain
    # breaks where the successor is not the next step (continues 0), and a
    # game's last round has discount 0.
    rng = np.random.default_rng(2)
    rewards, values = rng.normal(size=12), rng.normal(size=12)
    next_values = rng.normal(size=12)
    discounts = np.full(12, 0.9)
    discounts[[3, 8]] = 0.0
    continues = np.ones(12)
    continues[[3, 5, 8, 11]] = 0.0
    next_values[[3, 8]] = 0.0
    # Within a chain the successor's value is the next step's value.
    chained = np.flatnonzero(continues[:-1])
    next_values[chained] = values[chained + 1]
    advantages, targets = algorithm.gae(
        *map(jnp.asarray, (rewards, values, next_values, discounts,
                           continues)), lam)
    expected = _gae_segments(rewards, values, next_values, discounts,
                             continues, lam)
    np.testing.assert_allclose(advantages, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(targets, expected + values, rtol=1e-5,
                               atol=1e-5)
    # A broken chain bootstraps from its own next value, not step t + 1's.
    self.assertAlmostEqual(
        float(advantages[5]),
        rewards[5] + 0.9 * next_values[5] - values[5], places=5)

  def test_episode_end_cuts_the_bootstrap(self):
    advantages, _ = algorithm.gae(
        jnp.array([[1.0], [5.0]]), jnp.zeros((2, 1)),
        jnp.array([[0.0], [100.0]]), jnp.array([[0.0], [0.9]]),
        jnp.ones((2, 1)), 0.95)
    self.assertAlmostEqual(float(advantages[0, 0]), 1.0, places=5)

  def test_learner_rollout_continues_every_step(self):
    rng = np.random.default_rng(3)
    batch = _batch(rng)
    rollout = learning.to_rollout(batch, 0.99)
    np.testing.assert_array_equal(rollout.continues, 1.0)
    np.testing.assert_allclose(rollout.discount, 0.99 * batch.discount)
    np.testing.assert_array_equal(rollout.next_value[:-1], batch.value[1:])
    np.testing.assert_array_equal(rollout.next_value[-1],
                                  batch.bootstrap_value)


class LossTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(2)
    self.networks = _networks()
    self.params = self.networks.init(jax.random.PRNGKey(0))
    self.obs = _observations(rng, (16,))
    self.actions = jnp.asarray(rng.integers(0, 8, 16), jnp.int32)
    logits, _ = self.networks.apply(self.params, self.obs)
    self.old_log_prob = networks_lib.log_prob(logits, self.actions)

  def _loss(self, params, advantage, target, **kwargs):
    settings = dict(apply=self.networks.apply,
                    distribution=algorithm.CATEGORICAL, clip_epsilon=0.2,
                    entropy_cost=0.01, value_cost=0.5,
                    advantage_epsilon=learning.ADVANTAGE_EPSILON)
    settings.update(kwargs)
    return algorithm.ppo_loss(params, self.obs, self.actions,
                              self.old_log_prob, advantage, target,
                              **settings)

  def test_on_policy_ratio_is_one(self):
    loss, metrics = self._loss(self.params, jnp.linspace(-1, 1, 16),
                               jnp.zeros(16))
    self.assertTrue(np.isfinite(float(loss)))
    self.assertAlmostEqual(float(metrics["approx_kl"]), 0.0, places=6)
    self.assertEqual(float(metrics["clip_fraction"]), 0.0)
    self.assertAlmostEqual(float(metrics["entropy"]), np.log(8), places=2)

  def test_gradients_are_finite_and_reach_both_heads(self):
    grads, _ = jax.grad(self._loss, has_aux=True)(
        self.params, jnp.linspace(-1, 1, 16), jnp.ones(16))
    for path, leaf in jax.tree_util.tree_flatten_with_path(grads)[0]:
      self.assertTrue(np.all(np.isfinite(leaf)), path)
    for head in ("actor", "critic"):
      norm = optax_norm(grads[head])
      self.assertGreater(norm, 0.0, head)

  def test_a_step_favours_actions_with_positive_advantage(self):
    advantage = jnp.where(jnp.arange(16) < 8, 1.0, -1.0)
    grads, _ = jax.grad(self._loss, has_aux=True)(
        self.params, advantage, jnp.zeros(16), entropy_cost=0.0)
    params = jax.tree_util.tree_map(lambda p, g: p - 0.05 * g, self.params,
                                    grads)
    logits, _ = self.networks.apply(params, self.obs)
    gain = networks_lib.log_prob(logits, self.actions) - self.old_log_prob
    self.assertGreater(float(gain[:8].mean()), float(gain[8:].mean()))

  def test_value_loss_pulls_values_to_targets(self):
    target = jnp.full(16, 3.0)
    loss_fn = lambda p: self._loss(p, jnp.zeros(16), target)[1]["loss_value"]
    before = float(loss_fn(self.params))
    params = self.params
    for _ in range(5):
      grads = jax.grad(loss_fn)(params)
      params = jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params,
                                      grads)
    self.assertLess(float(loss_fn(params)), before)


def optax_norm(tree_):
  return float(jnp.sqrt(sum(jnp.sum(jnp.square(x))
                            for x in jax.tree_util.tree_leaves(tree_))))


class LearnerTest(parameterized.TestCase):

  @parameterized.parameters("symbolic", "rgb")
  def test_step_changes_params_and_counts(self, observation):
    rng = np.random.default_rng(3)
    networks = _networks(observation)
    learner = _learner(networks, [_batch(rng, observation=observation)])
    before = learner.get_variables(["params"])[0]
    learner.step()
    after = learner.get_variables(["params"])[0]
    self.assertEqual(learner.num_updates, 1)
    changed = jax.tree_util.tree_map(
        lambda a, b: not np.allclose(a, b), before, after)
    self.assertTrue(all(jax.tree_util.tree_leaves(changed["actor"])))
    self.assertTrue(all(jax.tree_util.tree_leaves(changed["critic"])))
    self.assertContainsSubset(
        {"loss_total", "loss_policy", "loss_value", "entropy", "approx_kl",
         "clip_fraction", "grad_norm", "explained_variance"},
        learner.metrics)
    for value in learner.metrics.values():
      self.assertTrue(np.isfinite(value))

  def test_save_restore_round_trip(self):
    rng = np.random.default_rng(4)
    networks = _networks()
    learner = _learner(networks, [_batch(rng), _batch(rng)])
    learner.step()
    state = learner.save()
    other = _learner(networks, [], seed=9)
    other.restore(state)
    tree.assert_same_structure(state, other.save())
    for a, b in zip(jax.tree_util.tree_leaves(state),
                    jax.tree_util.tree_leaves(other.save())):
      np.testing.assert_array_equal(a, b)

  def test_unknown_variable_name(self):
    learner = _learner(_networks(), [])
    with self.assertRaisesRegex(ValueError, "params"):
      learner.get_variables(["weights"])


class ActorTest(absltest.TestCase):

  def test_batched_actions_and_batch_shapes(self):
    rng = np.random.default_rng(5)
    networks = _networks()
    source = fakes.VariableSource(networks.init(jax.random.PRNGKey(1)))
    actor = actor_lib.PPOActor(networks, source, jax.random.PRNGKey(2),
                               unroll_length=3)
    obs = _observations(rng, (6,))
    actor.observe_first(dm_env.restart(obs))
    for _ in range(3):
      action = actor.select_action(obs)
      self.assertEqual(action.shape, (6,))
      self.assertTrue(np.all((action >= 0) & (action < 8)))
      actor.observe(action, dm_env.TimeStep(
          dm_env.StepType.MID, np.ones(6, np.float32),
          np.ones(6, np.float32), obs))
    self.assertTrue(actor.ready())
    batch = actor.take_batch()
    self.assertEqual(batch.action.shape, (3, 6))
    self.assertEqual(batch.observation["grid"].shape, (3, 6, 11, 11))
    self.assertEqual(batch.bootstrap_value.shape, (6,))
    self.assertFalse(actor.ready())

  def test_rollouts_from_the_real_substrate(self):
    configs = [game.GameConfig(substrate=_SMALL, rounds=1, steps=6,
                               vote_steps=2, seed=s) for s in (1, 2)]
    networks = _networks()
    source = fakes.VariableSource(networks.init(jax.random.PRNGKey(0)))
    actor = actor_lib.PPOActor(networks, source, jax.random.PRNGKey(1),
                               unroll_length=8)
    with environment.VectorEnv(configs, "symbolic", num_workers=0) as env:
      batch = next(actor_lib.rollouts(env, actor))
      episodes = env.pop_episodes()
      steps = env.substrate_steps
    self.assertEqual(batch.action.shape, (8, 8))  # 2 games x 4 players.
    # Each game ends after its 6th harvest step (discount 0 there).
    np.testing.assert_array_equal(batch.discount[5], np.zeros(8))
    self.assertLen(episodes, 2)
    self.assertEqual(episodes[0].steps, 8)  # 2 VOTE + 6 HARVEST steps.
    self.assertEqual(steps, 2 * (8 + 4))  # VOTE steps counted too.
    # Observations reaching the learner are all HARVEST steps.
    np.testing.assert_array_equal(batch.observation["vector"][..., 2], 1.0)


class FeaturesTest(parameterized.TestCase):

  def test_encode(self):
    observation = tree.map_structure(lambda s: s.generate_value(),
                                     _FACTORY.timestep_spec().observation)
    observation = dict(observation, PHASE=np.float64(1.0),
                       READY_TO_SHOOT=np.float64(1.0),
                       TAX_RATES=np.array([0.1, 0.2, 0.3]))
    encoded = features.encode(observation, 2, "symbolic")
    np.testing.assert_allclose(encoded["vector"],
                               [1, 0, 1, 0, 0.1, 0.2, 0.3], rtol=1e-6)
    self.assertEqual(encoded["grid"].shape, (11, 11))
    self.assertEqual(int(encoded["agent_id"]), 2)
    self.assertEqual(features.encode(observation, 0, "rgb")["rgb"].shape,
                     (88, 88, 3))

  def test_unknown_observation_kind(self):
    with self.assertRaisesRegex(ValueError, "symbolic"):
      _networks("pixels")
    with self.assertRaisesRegex(ValueError, "observation must be one of "
                                "\\['symbolic', 'rgb'\\], got 'pixels'"):
      config_lib.PPOConfig(observation="pixels")

  @parameterized.named_parameters(
      dict(testcase_name="hidden_size", field="hidden_size", value=0,
           message="hidden_size must be an integer >= 1, got 0"),
      dict(testcase_name="workers", field="num_workers", value=-1,
           message="num_workers must be an integer >= 0, got -1"),
      dict(testcase_name="learning_rate", field="learning_rate", value=0.0,
           message="learning_rate must be a finite number > 0, got 0.0"),
      dict(testcase_name="discount", field="discount", value=1.5,
           message=r"discount must be a finite number in \[0, 1\], got 1.5"),
      dict(testcase_name="entropy_cost", field="entropy_cost", value=-0.1,
           message="entropy_cost must be a finite number >= 0, got -0.1"),
  )
  def test_bad_field_names_the_valid_values(self, field, value, message):
    with self.assertRaisesRegex(ValueError, message):
      config_lib.PPOConfig(**{field: value})

  def test_minibatches_must_divide_the_batch(self):
    config = config_lib.PPOConfig(num_minibatches=7)
    with self.assertRaisesRegex(
        ValueError,
        "num_minibatches must be a divisor of the batch .* 4096 samples, "
        "got 7"):
      config.check_batch(4)
    config_lib.PPOConfig(num_minibatches=8).check_batch(4)


def _config_json(hidden_size: int = 16,
                 observation: str = "symbolic") -> dict:
  ppo = config_lib.PPOConfig(hidden_size=hidden_size, num_hidden_layers=1,
                             max_agents=4, observation=observation)
  return {"ppo": dataclasses.asdict(ppo), "num_rates": _NUM_RATES,
          "num_players": 4}


def _write_checkpoint(path, hidden_size: int = 16, seed: int = 0,
                      observation: str = "symbolic"):
  networks = _networks(observation, hidden_size=hidden_size)
  params = networks.init(jax.random.PRNGKey(seed))
  optimizer = learning.make_optimizer(1e-3, 1e-5, 0.5)
  return checkpoint.save(
      path, params=params, opt_state=optimizer.init(params),
      config=_config_json(hidden_size, observation), counters={"updates": 3},
      rng={"learner": jax.random.PRNGKey(7)}), params, optimizer


class CheckpointTest(absltest.TestCase):

  def test_round_trip(self):
    path = self.create_tempdir().full_path + "/ckpt.npz"
    _, params, optimizer = _write_checkpoint(path)
    loaded = checkpoint.load(path)
    self.assertEqual(loaded.counters, {"updates": 3})
    self.assertEqual(loaded.config, _config_json())
    np.testing.assert_array_equal(loaded.rng["learner"],
                                  jax.random.PRNGKey(7))
    checkpoint.check_params(loaded.params, params, path)
    for a, b in zip(jax.tree_util.tree_leaves(loaded.params),
                    jax.tree_util.tree_leaves(params)):
      np.testing.assert_array_equal(a, b)
    opt_state = checkpoint.restore_opt_state(
        loaded.opt_state_leaves, optimizer.init(params), path)
    tree.assert_same_structure(opt_state, optimizer.init(params))
    self.assertTrue(os.path.exists(path[:-4] + ".json"))
    self.assertFalse(os.path.exists(path + ".partial"))

  def test_missing_file(self):
    with self.assertRaisesRegex(ValueError, "No checkpoint"):
      checkpoint.load(self.create_tempdir().full_path + "/none.npz")

  def test_corrupt_files(self):
    folder = self.create_tempdir().full_path
    path, _, _ = _write_checkpoint(folder + "/ckpt.npz")
    data = path.read_bytes()
    cases = {"garbage": b"not a zip file at all",
             "truncated": data[:len(data) // 2],
             "empty": b""}
    for name, content in cases.items():
      with self.subTest(name):
        bad = f"{folder}/{name}.npz"
        with open(bad, "wb") as f:
          f.write(content)
        with self.assertRaisesRegex(ValueError, "checkpoint"):
          checkpoint.load(bad)
    with self.subTest("not a checkpoint"):
      np.savez(folder + "/plain.npz", x=np.zeros(3))
      with self.assertRaisesRegex(ValueError, "not a checkpoint"):
        checkpoint.load(folder + "/plain.npz")

  def test_shape_mismatch(self):
    path, _, optimizer = _write_checkpoint(
        self.create_tempdir().full_path + "/ckpt.npz", hidden_size=16)
    loaded = checkpoint.load(path)
    other = _networks(hidden_size=32).init(jax.random.PRNGKey(0))
    with self.assertRaisesRegex(ValueError, "shape"):
      checkpoint.check_params(loaded.params, other, str(path))
    with self.assertRaisesRegex(ValueError, "optimiser"):
      checkpoint.restore_opt_state(loaded.opt_state_leaves,
                                   optimizer.init(other), str(path))
    rgb = _networks("rgb").init(jax.random.PRNGKey(0))
    with self.assertRaisesRegex(ValueError, "missing"):
      checkpoint.check_params(loaded.params, rgb, str(path))

  def test_policy_load_rejects_a_mismatched_config(self):
    path, _, _ = _write_checkpoint(
        self.create_tempdir().full_path + "/ckpt.npz", hidden_size=16)
    loaded = checkpoint.load(path)
    config = _config_json(hidden_size=32)  # Claims other sizes.
    checkpoint.save(path, params=loaded.params, config=config)
    with self.assertRaisesRegex(ValueError, "does not match"):
      policy_lib.load(path)


class PolicyTest(bots_testing.BotTestCase):

  def setUp(self):
    super().setUp()
    path, _, _ = _write_checkpoint(
        self.create_tempdir().full_path + "/ckpt.npz")
    self.path = str(path)

  def _timestep(self, phase: float, rates=(0.0, 0.0, 0.0)):
    observation = tree.map_structure(lambda s: s.generate_value(),
                                     _FACTORY.timestep_spec().observation)
    observation = dict(observation, PHASE=np.float64(phase),
                       TAX_RATES=np.asarray(rates, np.float64))
    return dm_env.transition(reward=0.0, observation=observation)

  def test_compatible_with_the_substrate(self):
    bot = policy_lib.PPOPolicy.from_checkpoint(
        self.path, agent_id=1, voter=bots.Voter.truthful((0.1, 0.7, 0.2), "borda"))
    self.assert_compatible(bot, _FACTORY.timestep_spec(),
                           _FACTORY.action_spec())
    action, state = bot.step(self._timestep(1.0), bot.initial_state())
    _FACTORY.action_spec().validate(action)
    self.assertLess(action, obs_lib.NUM_COMMONS_ACTIONS)
    self.assertIsNotNone(state.key)

  def test_phases(self):
    bot = policy_lib.PPOPolicy.from_checkpoint(
        self.path, voter=bots.Voter.fixed(2))
    vote, _ = bot.step(self._timestep(0.0), bot.initial_state())
    self.assertEqual(vote, obs_lib.NUM_COMMONS_ACTIONS + 2)
    over, _ = bot.step(self._timestep(2.0), bot.initial_state())
    self.assertEqual(over, obs_lib.NOOP)

  def test_casts_its_voters_ranking_one_press_per_vote_step(self):
    # The same press sequence as the heuristic bots (bots.ballot_action).
    bot = policy_lib.PPOPolicy.from_checkpoint(
        self.path, voter=bots.Voter.truthful((0.1, 0.7, 0.2), "borda"))
    state = bot.initial_state()
    actions = []
    for phase in (0.0, 0.0, 0.0, 1.0, 0.0):
      action, state = bot.step(self._timestep(phase), state)
      actions.append(action)
    del actions[3]  # The harvest step.
    self.assertEqual(actions, [bots.vote_action(1), bots.vote_action(2),
                               obs_lib.NOOP, bots.vote_action(1)])

  def test_same_state_same_action_and_state_is_not_mutated(self):
    bot = policy_lib.PPOPolicy.from_checkpoint(self.path, seed=3)
    state = bot.initial_state()
    _, state = bot.step(self._timestep(1.0), state)
    key = state.key.copy()
    actions = [bot.step(self._timestep(1.0), state)[0] for _ in range(3)]
    self.assertLen(set(actions), 1)
    np.testing.assert_array_equal(state.key, key)

  def test_wrong_number_of_tax_rates(self):
    bot = policy_lib.PPOPolicy.from_checkpoint(self.path)
    with self.assertRaisesRegex(ValueError, "3 tax rates"):
      bot.step(self._timestep(1.0, rates=(0.1, 0.2)), bot.initial_state())

  def test_make_bot_and_game_accept_ppo_paths(self):
    bot = agents.make_bot("ppo:" + self.path, player=2)
    self.assertIsInstance(bot, policy_lib.PPOPolicy)
    prepared = game.prepare(game.GameConfig(
        substrate=_SMALL, rounds=1, steps=5, vote_steps=2,
        bots=f"greedy,ppo:{self.path}"), agents.FACTORY)
    players = game.build_bots(prepared)
    self.assertIsInstance(players[1], policy_lib.PPOPolicy)
    env = game.build_environment(prepared)
    self.assertEqual(game.play_episode(env, players), 7)  # 2 VOTE + 5 steps.
    env.close()

  def test_the_game_renders_pixels_only_for_a_follower_reading_them(self):
    rgb_path, _, _ = _write_checkpoint(
        self.create_tempdir().full_path + "/rgb.npz", observation="rgb")
    for path, views in ((self.path, ("GRID", "FIRST_RGB_CRC32")),
                        (str(rgb_path), ("RGB",))):
      with self.subTest(views=views):
        prepared = game.prepare(game.GameConfig(
            substrate=_SMALL, rounds=1, steps=5, vote_steps=2,
            bots=f"greedy,ppo:{path}"), agents.FACTORY)
        self.assertEqual(tuple(prepared.substrate_config.player_views),
                         views)
        with game.build_environment(prepared) as env:
          self.assertEqual(
              game.play_episode(env, game.build_bots(prepared)), 7)

  def test_bad_ppo_names(self):
    with self.assertRaisesRegex(ValueError, "No checkpoint"):
      game.prepare(game.GameConfig(substrate=_SMALL,
                                   bots="ppo:/no/such/file.npz"),
                                   agents.FACTORY)
    with self.assertRaisesRegex(ValueError, "ppo:PATH"):
      game.prepare(game.GameConfig(substrate=_SMALL, bots="ppo:"),
                   agents.FACTORY)
    with self.assertRaisesRegex(ValueError, "3 tax rates.*has 2"):
      agents.check_bot("ppo:" + self.path, num_rates=2)


class ShippedCheckpointTest(bots_testing.BotTestCase):

  def test_ships_and_loads(self):
    self.assertTrue(policy_lib.DEFAULT_CHECKPOINT.is_file())
    self.assertLess(policy_lib.DEFAULT_CHECKPOINT.stat().st_size, 10_000_000)
    bot = agents.make_bot("ppo", player=0,
                          voter=bots.Voter.truthful((0.5, 0.3, 0.2), "borda"))
    self.assert_compatible(bot, _FACTORY.timestep_spec(),
                           _FACTORY.action_spec())


if __name__ == "__main__":
  absltest.main()
