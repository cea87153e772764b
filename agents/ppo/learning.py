"""PPOLearner: the followers' PPO updates on batches of rollouts.

The learner pulls one time-major `Batch` from its iterator per `step()`,
turns it into the core's `Rollout` (`to_rollout`) and runs
`algorithm.ppo_update` on it: GAE, then `num_epochs` passes of shuffled
minibatch steps of the clipped-surrogate loss with optax, under a
categorical policy. `algorithm.py` is that update, top to bottom; the RL
principal runs the same one. The whole update is one jitted function of an
immutable `TrainingState`; the PRNG key that shuffles the minibatches is
split at each use and lives in that state.

The learner is an `acme.core.Learner` and so a `VariableSource`: actors pull
the current parameters with `get_variables(["params"])`.
"""

import functools
from typing import Iterator, List, NamedTuple, Sequence

from acme import core
import jax
import jax.numpy as jnp
import optax

from umd_meltingpot.ppo import algorithm
from umd_meltingpot.agents.ppo import networks as networks_lib

PRNGKey = networks_lib.PRNGKey
Params = networks_lib.Params
Observation = networks_lib.Observation
Metrics = algorithm.Metrics
TrainingState = algorithm.TrainingState
make_optimizer = algorithm.make_optimizer  # What `umd train` builds.
VARIABLE_NAMES = ("params", "policy")  # Both name the network parameters.
# Added to a minibatch's advantage std before normalising.
ADVANTAGE_EPSILON = 1e-8


class Batch(NamedTuple):
  """A rollout, time-major: leading axes [T, B] (B = envs x players).

  Attributes:
    observation: the observations acted on.
    action: the actions taken, int32.
    log_prob: log pi(action) under the acting parameters.
    value: the critic's values of `observation` when acting.
    reward: the rewards that followed each action.
    discount: 0 where the episode ended with this step, else 1 (the
      learner multiplies in gamma).
    bootstrap_value: [B], the value of the observation after the last step.
  """
  observation: Observation
  action: jax.Array
  log_prob: jax.Array
  value: jax.Array
  reward: jax.Array
  discount: jax.Array
  bootstrap_value: jax.Array


class PPOLearner(core.Learner):
  """PPO on parameter-shared actor-critic networks."""

  def __init__(self,
               networks: networks_lib.PPONetworks,
               iterator: Iterator[Batch],
               optimizer: optax.GradientTransformation,
               random_key: PRNGKey,
               *,
               discount: float,
               gae_lambda: float,
               clip_epsilon: float,
               entropy_cost: float,
               value_cost: float,
               num_epochs: int,
               num_minibatches: int):
    """Initialises the learner with fresh parameters.

    Args:
      networks: the actor-critic.
      iterator: yields one rollout `Batch` per `step()`.
      optimizer: the optax transformation (clipping, Adam, ...).
      random_key: seeds the parameters and the minibatch shuffles.
      discount: gamma.
      gae_lambda: GAE's lambda.
      clip_epsilon, entropy_cost, value_cost: see `algorithm.ppo_loss`.
      num_epochs: passes over each batch.
      num_minibatches: minibatches per pass; must divide T x B.
    """
    self._iterator = iterator
    init_key, state_key = jax.random.split(random_key)
    self._state = algorithm.init_state(networks.init(init_key), optimizer,
                                       state_key)
    update = functools.partial(
        algorithm.ppo_update, entropy_cost=entropy_cost,
        apply=networks.apply, distribution=algorithm.CATEGORICAL,
        optimizer=optimizer, gae_lambda=gae_lambda,
        clip_epsilon=clip_epsilon, value_cost=value_cost,
        advantage_epsilon=ADVANTAGE_EPSILON, num_epochs=num_epochs,
        num_minibatches=num_minibatches)
    self._update = jax.jit(
        lambda state, batch: update(state, to_rollout(batch, discount)))
    self._metrics: Metrics = {}

  def step(self) -> None:
    """Takes one batch from the iterator and updates on it."""
    batch = next(self._iterator)
    self._state, self._metrics = self._update(self._state, batch)

  @property
  def metrics(self) -> dict[str, float]:
    """The metrics of the last `step()`, as floats."""
    return {name: float(value) for name, value in self._metrics.items()}

  @property
  def num_updates(self) -> int:
    return int(self._state.num_updates)

  def get_variables(self, names: Sequence[str]) -> List[Params]:
    """See base class: "params" (or "policy") names the parameters."""
    unknown = [name for name in names if name not in VARIABLE_NAMES]
    if unknown:
      raise ValueError(f"Unknown variables {unknown}; valid: "
                       f"{list(VARIABLE_NAMES)}")
    params = jax.device_get(self._state.params)
    return [params for _ in names]

  def save(self) -> TrainingState:
    """The training state, as NumPy arrays."""
    return jax.device_get(self._state)

  def restore(self, state: TrainingState) -> None:
    """Replaces the training state (from `save` or a checkpoint)."""
    self._state = jax.tree_util.tree_map(jnp.asarray, state)


def to_rollout(batch: Batch, discount: float) -> algorithm.Rollout:
  """The core's `Rollout` of a follower `Batch`, with gamma = `discount`.

  Step t + 1 is always step t's successor in a time-major rollout: an
  episode's end is a zero discount, which cuts both the bootstrap and GAE.
  """
  return algorithm.Rollout(
      observation=batch.observation, action=batch.action,
      log_prob=batch.log_prob, value=batch.value, reward=batch.reward,
      next_value=algorithm.successor_values(batch.value,
                                            batch.bootstrap_value),
      discount=discount * batch.discount,
      continues=jnp.ones_like(batch.value))
