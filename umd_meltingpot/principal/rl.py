"""An RL principal: a PPO-trained policy over the round observation.

The principal level of the AI Economist's two-level RL (Zheng et al. 2020,
"The AI Economist: Improving Equality and Productivity with AI-Driven Tax
Policies", arXiv:2004.13332): a small policy network reads an aggregate of
the world at each round boundary and outputs the tax rates φ; it is trained
with PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms",
arXiv:1707.06347) on the voted objective. Here:

- **Observation** (`features`): φ_prev; a one-hot of the voted objective
  over `welfare.OBJECTIVES`; the mean, min, max and Gini of last round's
  gross and net incomes (0 on round 0, with a flag saying whether there was
  a last round); the apples alive; the round index over `horizon`. Incomes
  and apples enter as log(1 + x) / log(1 + scale), so no statistic needs a
  running estimate.
- **Action**: z ~ N(μ(x), σ²) in R^k with a state-independent learned log σ
  (clamped to [min_log_std, max_log_std]); the rates are
  max_rate * sigmoid(z) (max_rate the game's cap, 1 unless it allows fines),
  capped at the curriculum's maximum rate times max_rate. PPO's ratio uses the density of z: the
  squashing's Jacobian cancels in the ratio. The entropy bonus is that of
  the Gaussian before squashing (the squashed one has no closed form).
- **Episode**: one game; each round is one step and its reward is the
  voted objective's value on the round, normalised per objective by running
  mean and standard deviation (Welford), then clipped. Objectives differ in
  scale, and the vote may change the objective between rounds.
- **Learning**: a step's successor is known at the next `propose` (its
  value bootstraps the step, or 0 when a new game starts: round_index 0 or
  not consecutive). Once `update_every` steps are complete, an `update`
  runs `num_epochs` full-batch PPO-clip steps with GAE advantages and a
  learned value baseline, then drops those steps. The update is the
  followers' PPO core (`umd_meltingpot/ppo/algorithm.py`, `ppo_update` with one
  minibatch and a Gaussian policy); this module is the principal's head on
  it: features, the Gaussian, the curriculum, reward normalisation and
  the bookkeeping of steps. The newest step always
  waits for its successor, so a game of τ rounds learns within the game
  when τ > update_every.
- **Curriculum** (Zheng et al. 2020's two-phase training of the planner):
  the maximum rate rises linearly from `tax_cap_start` to 1 over
  `anneal_rounds` rounds ("tax annealing"), and the entropy coefficient
  falls linearly from `entropy_start` to `entropy_end` over
  `entropy_anneal_rounds` rounds, so the principal explores broadly while
  the followers adapt to small taxes. The AI Economist counts episodes and
  masks discrete rate bins; we count rounds and clip the continuous rates,
  so while the cap binds, samples above it all play the cap and teach the
  policy nothing about higher rates.

The proposal is the capped sample; the wrapper projects it into the
δ-ball, and the rates actually applied set the next observation and the
reward. All randomness flows from one JAX key made from `RLConfig.seed`.
Usage:

  principal = RLPrincipal(RLConfig(seed=1), num_brackets=3)
  proposal = principal.propose(observation, "utilitarian")
  principal.update(feedback)
  checkpoint = principal.state_dict()   # numpy arrays + a JSON-able config
"""

import dataclasses
import functools
import math
from typing import Any, Mapping, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import validation
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.ppo import algorithm
from umd_meltingpot.ppo import checkpoint as ppo_checkpoint
from umd_meltingpot.ppo import layers
from umd_meltingpot.principal import base
# RLConfig lives apart so that flags and --help need not import JAX.
from umd_meltingpot.principal.rl_config import RLConfig  # pylint: disable=unused-import

PRNGKey = jax.Array
Params = Mapping[str, Any]

# Features besides φ_prev and the objective one-hot: a last-round flag, four
# statistics of gross and four of net income, apples alive, round progress.
_NUM_WORLD_FEATURES = 11
# Added to the advantages' std before normalising: larger than the
# followers' 1e-8, as batches of a few rounds can have nearly equal
# advantages.
_ADVANTAGE_EPSILON = 1e-6
_ADAM_EPSILON = 1e-8  # optax's default.

def _linear(start: float, end: float, rounds: int, played: int) -> float:
  """Moves linearly from `start` to `end` over `rounds` rounds."""
  if rounds == 0:
    return end
  return start + (end - start) * min(played / rounds, 1.0)


def tax_cap(config: RLConfig, rounds_played: int) -> float:
  """The curriculum's maximum rate after `rounds_played` rounds."""
  return _linear(config.tax_cap_start, 1.0, config.anneal_rounds,
                 rounds_played)


def entropy_coefficient(config: RLConfig, rounds_played: int) -> float:
  """The annealed entropy coefficient after `rounds_played` rounds."""
  return _linear(config.entropy_start, config.entropy_end,
                 config.entropy_anneal_rounds, rounds_played)


# ---------------------------------------------------------------- features


def num_features(num_brackets: int) -> int:
  """The size of `features`' output for k brackets."""
  return num_brackets + len(welfare.OBJECTIVES) + _NUM_WORLD_FEATURES


def _log_scaled(x: np.ndarray, scale: float) -> np.ndarray:
  return np.log1p(np.maximum(x, 0.0)) / math.log1p(scale)


def _income_statistics(values: np.ndarray, scale: float) -> np.ndarray:
  """log-scaled mean, min and max, and the Gini; zeros when empty."""
  if values.size == 0:
    return np.zeros(4)
  # Incomes are >= 0 in the game; clipping keeps a bad input finite.
  values = np.maximum(np.nan_to_num(values), 0.0)
  moments = np.array([values.mean(), values.min(), values.max()])
  return np.append(_log_scaled(moments, scale), welfare.gini(values))


def features(
    observation: base.RoundObservation, objective: str, config: RLConfig
) -> np.ndarray:
  """The policy's input for one round, shape [num_features(k)].

  Raises:
    ValueError: if `objective` is not one of `welfare.OBJECTIVES`.
  """
  if objective not in welfare.OBJECTIVES:
    raise ValueError(f"unknown objective {objective!r}; valid objectives: "
                     f"{list(welfare.OBJECTIVES)}")
  one_hot = np.zeros(len(welfare.OBJECTIVES))
  one_hot[welfare.OBJECTIVES.index(objective)] = 1.0
  gross = np.asarray(observation.gross, dtype=np.float64)
  net = np.asarray(observation.net, dtype=np.float64)
  world = [
      [float(gross.size > 0)],
      _income_statistics(gross, config.income_scale),
      _income_statistics(net, config.income_scale),
      _log_scaled(np.array([float(observation.apples_alive)]),
                  config.apples_scale),
      [min(observation.round_index / config.horizon, 1.0)],
  ]
  # As fractions of the cap, so the inputs stay in [0, 1] whatever it is.
  previous = np.asarray(observation.previous_rates,
                        dtype=np.float64) / observation.max_rate
  return np.concatenate([previous, one_hot, *world]).astype(np.float32)


# ---------------------------------------------------------------- network


def init_params(key: PRNGKey, num_brackets: int,
                config: RLConfig) -> dict[str, Any]:
  """Fresh parameters: {"policy": MLP, "value": MLP, "log_std": [k]}."""
  policy_key, value_key = jax.random.split(key)
  inputs = (num_features(num_brackets), *config.hidden_sizes)
  return {
      "policy": layers.mlp_init(policy_key, (*inputs, num_brackets),
                                head="head", head_scale=0.01),
      "value": layers.mlp_init(value_key, (*inputs, 1), head="head",
                               head_scale=1.0),
      "log_std": jnp.full((num_brackets,), config.init_log_std, jnp.float32),
  }


def _policy(params: Params, x: jax.Array, min_log_std: float,
            max_log_std: float) -> algorithm.GaussianParams:
  """The pre-squash Gaussian's mean [..., k] and log σ [k]."""
  log_std = jnp.clip(params["log_std"], min_log_std, max_log_std)
  return layers.mlp(params["policy"], x, head="head",
                    activation=jnp.tanh), log_std


def _value(params: Params, x: jax.Array) -> jax.Array:
  return layers.mlp(params["value"], x, head="head",
                    activation=jnp.tanh)[..., 0]


def apply(params: Params, x: jax.Array, *, min_log_std: float,
          max_log_std: float) -> tuple[algorithm.GaussianParams, jax.Array]:
  """The network for `algorithm.ppo_update`: (the Gaussian, V(x))."""
  return _policy(params, x, min_log_std, max_log_std), _value(params, x)


def _act(params: Params, key: PRNGKey, x: jax.Array, *, min_log_std: float,
         max_log_std: float) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Samples z for one input; returns (z, log π(z), V(x))."""
  policy = _policy(params, x, min_log_std, max_log_std)
  z = algorithm.GAUSSIAN.sample(key, policy)
  return z, algorithm.GAUSSIAN.log_prob(policy, z), _value(params, x)


# ---------------------------------------------------------------- principal


class _RunningStats(NamedTuple):
  """Welford's running count, mean and sum of squared deviations."""
  count: float = 0.0
  mean: float = 0.0
  m2: float = 0.0

  def add(self, value: float) -> "_RunningStats":
    count = self.count + 1
    mean = self.mean + (value - self.mean) / count
    return _RunningStats(count, mean, self.m2 + (value - self.mean) *
                         (value - mean))

  @property
  def std(self) -> float:
    variance = self.m2 / self.count if self.count >= 2 else 0.0
    return math.sqrt(variance) if variance > 0 else 1.0


@dataclasses.dataclass
class _Step:
  """One round: what was sampled, then its reward, then its successor."""
  round_index: int
  features: np.ndarray
  action: np.ndarray
  log_prob: float
  value: float
  reward: Optional[float] = None
  next_value: Optional[float] = None
  discount: float = 0.0


class RLPrincipal(base.Principal):
  """A PPO-trained Gaussian policy over the rates (see module docstring)."""

  def __init__(self, config: Optional[RLConfig] = None, *,
               num_brackets: int):
    """Initialises the principal.

    Args:
      config: the algorithm's parameters; None for the defaults.
      num_brackets: k, the number of rates it proposes, an integer >= 1.

    Raises:
      ValueError: if `num_brackets` is not an integer >= 1.
    """
    brackets = validation.integer(ge=1)
    try:
      self._num_brackets = brackets.normalise(num_brackets)
    except (TypeError, ValueError):
      validation.fail("num_brackets", brackets.description, num_brackets)
    self._config = RLConfig() if config is None else config
    config = self._config
    optimizer = algorithm.make_optimizer(
        config.learning_rate, _ADAM_EPSILON, config.max_grad_norm)
    init_key, random_key = jax.random.split(jax.random.PRNGKey(config.seed))
    # The update leaves the key alone (one full-batch minibatch): it is the
    # key the principal samples its rates with.
    self._state = algorithm.init_state(
        init_params(init_key, self._num_brackets, config), optimizer,
        random_key)
    std_range = dict(min_log_std=config.min_log_std,
                     max_log_std=config.max_log_std)
    self._act = jax.jit(functools.partial(_act, **std_range))
    self._update = jax.jit(functools.partial(
        algorithm.ppo_update, apply=functools.partial(apply, **std_range),
        distribution=algorithm.GAUSSIAN, optimizer=optimizer,
        gae_lambda=config.gae_lambda, clip_epsilon=config.clip_epsilon,
        value_cost=config.value_cost, advantage_epsilon=_ADVANTAGE_EPSILON,
        num_epochs=config.num_epochs, num_minibatches=1))
    self._reward_stats: dict[str, _RunningStats] = {}
    self._rounds_played = 0
    self._steps: list[_Step] = []
    self._learning = True
    self.last_metrics: dict[str, float] = {}

  @property
  def config(self) -> RLConfig:
    """The algorithm's parameters."""
    return self._config

  @property
  def training_state(self) -> algorithm.TrainingState:
    """The parameters, optimiser state and key (immutable arrays)."""
    return self._state

  @property
  def rounds_played(self) -> int:
    """Rounds with a finite value fed to `update`; drives the curriculum."""
    return self._rounds_played

  @property
  def tax_cap(self) -> float:
    """The curriculum's current maximum rate."""
    return tax_cap(self._config, self._rounds_played)

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    """See base class. Samples rates in [0, tax_cap * max_rate]^k."""
    if observation.num_brackets != self._num_brackets:
      raise ValueError(
          f"the game has {observation.num_brackets} brackets, but this "
          f"principal proposes {self._num_brackets}")
    x = features(observation, objective, self._config)
    if not self._learning:
      mean, _ = _policy(self._state.params, x, self._config.min_log_std,
                        self._config.max_log_std)
      rates = np.asarray(jax.nn.sigmoid(mean), dtype=np.float64)
      return observation.max_rate * np.minimum(rates, self.tax_cap)
    key, sample_key = jax.random.split(self._state.random_key)
    self._state = self._state._replace(random_key=key)
    z, log_prob, value = self._act(self._state.params, sample_key, x)
    self._link(observation.round_index, float(value))
    self._steps.append(_Step(
        round_index=observation.round_index, features=x,
        action=np.asarray(z), log_prob=float(log_prob), value=float(value)))
    rates = np.asarray(jax.nn.sigmoid(z), dtype=np.float64)
    return observation.max_rate * np.minimum(rates, self.tax_cap)

  def set_learning(self, learning: bool) -> None:
    """See base class. Off, it proposes the policy's mean (no sampling)."""
    self._learning = bool(learning)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. Records the reward; learns every `update_every`.

    Feedback for a round this principal did not propose, or with a
    non-finite value, is dropped with the step it belongs to.
    """
    if not self._learning:
      return
    step = self._steps[-1] if self._steps else None
    value = float(feedback.objective_value)
    if (step is None or step.reward is not None or
        step.round_index != feedback.round_index or not math.isfinite(value)):
      if step is not None and step.reward is None:
        self._steps.pop()
      return
    stats = self._reward_stats.get(feedback.objective, _RunningStats())
    stats = stats.add(value)
    self._reward_stats[feedback.objective] = stats
    clip = self._config.reward_clip
    step.reward = float(np.clip((value - stats.mean) / stats.std, -clip, clip))
    self._rounds_played += 1
    complete = [s for s in self._steps if s.next_value is not None]
    if len(complete) >= self._config.update_every:
      self.learn(self._batch(complete))
      self._steps = [s for s in self._steps if s.next_value is None]

  def learn(self, rollout: algorithm.Rollout) -> dict[str, float]:
    """One PPO update of the principal's parameters on `rollout`.

    Returns:
      The update's metrics (`loss_total`, `loss_policy`, ...; see
      `algorithm.ppo_update`).
    """
    coefficient = entropy_coefficient(self._config, self._rounds_played)
    self._state, metrics = self._update(self._state, rollout,
                                        jnp.float32(coefficient))
    self.last_metrics = {k: float(v) for k, v in metrics.items()}
    return self.last_metrics

  def state_dict(self) -> dict[str, Any]:
    """A checkpoint: numpy arrays by path, counters, and "config" (JSON-able).

    Steps not yet learnt from (fewer than `update_every`) are not saved.
    """
    arrays = {"random_key": self._state.random_key,
              "num_updates": self._state.num_updates,
              "rounds_played": np.asarray(self._rounds_played)}
    arrays.update(checkpoint_format.flatten(self._state.params, "params"))
    for i, leaf in enumerate(jax.tree_util.tree_leaves(self._state.opt_state)):
      arrays[f"opt_state/{i}"] = leaf
    for objective, stats in self._reward_stats.items():
      arrays[f"reward_stats/{objective}"] = np.array(stats, np.float64)
    state = {key: np.array(value) for key, value in arrays.items()}
    state["config"] = self._config.to_json()
    state["num_brackets"] = self._num_brackets
    return state

  def load_state_dict(self, state: Mapping[str, Any]) -> None:
    """Restores a `state_dict()`; pending steps are dropped.

    Raises:
      ValueError: if the checkpoint's config or k differ from this one's.
    """
    config = RLConfig(**dict(state["config"]))
    if config != self._config or state["num_brackets"] != self._num_brackets:
      raise ValueError(
          f"the checkpoint is for {state['num_brackets']} brackets with "
          f"{config}; this principal has {self._num_brackets} with "
          f"{self._config}")
    source = "the RL principal's checkpoint"
    random_key = checkpoint_format.entry(
        state, "random_key", source, kinds="u", shape=(2,),
        le=np.iinfo(np.uint32).max)
    num_updates = checkpoint_format.integer(state, "num_updates", source)
    rounds_played = checkpoint_format.integer(state, "rounds_played", source)
    prefix = "reward_stats/"
    reward_stats = {}
    for key in state:
      if key.startswith(prefix):
        count, mean, m2 = checkpoint_format.entry(
            state, key, source, kinds="f", shape=(3,))
        if count < 0 or m2 < 0:
          raise ValueError(f"{source}: entry {key!r} must hold a count and "
                           f"a sum of squares >= 0, got {count}, {m2}")
        reward_stats[key[len(prefix):]] = _RunningStats(
            float(count), float(mean), float(m2))
    params = checkpoint_format.unflatten(
        checkpoint_format.group(state, "params"))
    ppo_checkpoint.check_params(params, self._state.params, source)
    saved_leaves = checkpoint_format.group(state, "opt_state")
    if not all(key.isdigit() for key in saved_leaves):
      raise ValueError(f"{source}: optimiser entries must be named by their "
                       f"index, got {sorted(saved_leaves)}")
    opt_state = ppo_checkpoint.restore_opt_state(
        [saved_leaves[key] for key in sorted(saved_leaves, key=int)],
        self._state.opt_state, source)
    self._state = algorithm.TrainingState(
        params=jax.tree_util.tree_map(
            lambda saved, like: jnp.asarray(saved, like.dtype),
            params, self._state.params),
        opt_state=opt_state,
        random_key=jnp.asarray(random_key, jnp.uint32),
        num_updates=jnp.asarray(num_updates, jnp.int32))
    self._rounds_played = rounds_played
    self._reward_stats = reward_stats
    self._steps = []

  def _link(self, round_index: int, value: float) -> None:
    """Gives the last rewarded step its successor's value (0: new game)."""
    if not self._steps:
      return
    last = self._steps[-1]
    if last.reward is None:  # Proposed but never fed back: drop it.
      self._steps.pop()
      return
    if round_index == last.round_index + 1:
      last.next_value, last.discount = value, self._config.discount
    else:
      last.next_value, last.discount = 0.0, 0.0

  def _batch(self, steps: list[_Step]) -> algorithm.Rollout:
    """The complete `steps`, oldest first, as the core's `Rollout`: step
    t + 1 continues step t's game only if it is that round's successor."""
    continues = [float(a.discount > 0 and b.round_index == a.round_index + 1)
                 for a, b in zip(steps[:-1], steps[1:])] + [0.0]

    def column(name: str) -> jax.Array:
      return jnp.asarray(np.array([getattr(s, name) for s in steps],
                                  np.float32))

    return algorithm.Rollout(
        observation=column("features"), action=column("action"),
        log_prob=column("log_prob"), value=column("value"),
        reward=column("reward"), next_value=column("next_value"),
        discount=column("discount"),
        continues=jnp.asarray(continues, jnp.float32))

