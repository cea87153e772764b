"""PPOActor: batched action selection, and the rollouts it records.

One actor serves every player slot of every substrate at once: its
observation has a leading batch axis B = envs x players, and one jitted call
samples all B actions. As an `acme.core.Actor` it follows Acme's loop

  actor.observe_first(timestep)
  action = actor.select_action(timestep.observation)
  timestep = env.step(action)
  actor.observe(action, timestep)
  actor.update()  # Pulls fresh parameters from the variable source.

and, like an Acme adder, it records what it saw; `take_batch()` hands the
last `unroll_length` steps to the learner as a time-major `Batch`.
`rollouts` is the iterator of batches that a `PPOLearner` reads.
"""

from typing import Iterator, Optional

from acme import core
import dm_env
import jax
import numpy as np

from umd_meltingpot.training import follower_env as env_lib
from umd_meltingpot.agents.ppo import learning
from umd_meltingpot.agents.ppo import networks as networks_lib

PRNGKey = networks_lib.PRNGKey


def _act(params, observation, key, *, apply):
  """Samples actions; returns them with their log-probs and values."""
  key, sample_key = jax.random.split(key)
  logits, value = apply(params, observation)
  action = networks_lib.sample(sample_key, logits)
  return action, networks_lib.log_prob(logits, action), value, key


class PPOActor(core.Actor):
  """Samples from the shared policy for a batch of slots; records rollouts."""

  def __init__(self,
               networks: networks_lib.PPONetworks,
               variable_source: core.VariableSource,
               random_key: PRNGKey,
               *,
               unroll_length: Optional[int] = None):
    """Initialises the actor.

    Args:
      networks: the actor-critic.
      variable_source: provides "params" (usually the learner).
      random_key: seeds the action samples; split at each step.
      unroll_length: steps per `Batch`; None records nothing.
    """
    self._networks = networks
    self._variable_source = variable_source
    self._key = random_key
    self._unroll_length = unroll_length
    self._params = None
    self._act = jax.jit(lambda p, o, k: _act(p, o, k, apply=networks.apply))
    self._value = jax.jit(lambda p, o: networks.apply(p, o)[1])
    self._steps: list[tuple] = []
    self._pending: Optional[tuple] = None
    self._last_observation = None

  @property
  def random_key(self) -> np.ndarray:
    return np.asarray(self._key)

  @random_key.setter
  def random_key(self, key: np.ndarray) -> None:
    self._key = jax.numpy.asarray(key)

  def select_action(self, observation) -> np.ndarray:
    """Samples one commons action per slot: int32 of shape [B]."""
    if self._params is None:
      self.update()
    action, log_prob, value, self._key = self._act(
        self._params, observation, self._key)
    action = np.asarray(action, dtype=np.int32)
    self._pending = (observation, action, np.asarray(log_prob),
                     np.asarray(value))
    return action

  def observe_first(self, timestep: dm_env.TimeStep) -> None:
    """Starts recording at `timestep` (a batch of slots)."""
    self._last_observation = timestep.observation
    self._pending = None

  def observe(self, action: np.ndarray,
              next_timestep: dm_env.TimeStep) -> None:
    """Records the step just taken, if recording."""
    self._last_observation = next_timestep.observation
    if self._unroll_length is None or self._pending is None:
      return
    observation, taken, log_prob, value = self._pending
    assert np.array_equal(taken, action), "observe() needs the chosen action"
    self._steps.append((observation, taken, log_prob, value,
                        np.asarray(next_timestep.reward, np.float32),
                        np.asarray(next_timestep.discount, np.float32)))
    self._pending = None

  def update(self, wait: bool = False) -> None:
    """Pulls the current parameters from the variable source."""
    del wait  # Always synchronous.
    self._params = self._variable_source.get_variables(["params"])[0]

  def ready(self) -> bool:
    """Whether `unroll_length` steps are recorded."""
    return (self._unroll_length is not None
            and len(self._steps) >= self._unroll_length)

  def take_batch(self) -> learning.Batch:
    """The recorded steps as a time-major `Batch`; clears the record."""
    assert self.ready(), "take_batch() before unroll_length steps"
    steps, self._steps = self._steps, []
    observations, actions, log_probs, values, rewards, discounts = zip(
        *steps)
    stacked = {key: np.stack([o[key] for o in observations])
               for key in observations[0]}
    bootstrap = np.asarray(self._value(self._params, self._last_observation))
    return learning.Batch(
        observation=stacked, action=np.stack(actions),
        log_prob=np.stack(log_probs), value=np.stack(values),
        reward=np.stack(rewards), discount=np.stack(discounts),
        bootstrap_value=bootstrap)


def rollouts(env: env_lib.VectorEnv,
             actor: PPOActor) -> Iterator[learning.Batch]:
  """Acts in `env` with `actor` forever, yielding a `Batch` per unroll.

  The env is reset on the first `next()`; between batches, call
  `actor.update()` so the next unroll acts with the new parameters.
  """
  timestep = env.reset()
  actor.observe_first(timestep)
  while True:
    while not actor.ready():
      action = actor.select_action(timestep.observation)
      timestep = env.step(action)
      actor.observe(action, timestep)
    yield actor.take_batch()
