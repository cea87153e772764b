"""PPOLearner: clipped-surrogate PPO updates on batches of rollouts.

The learner pulls one time-major `Batch` from its iterator per `step()`,
computes advantages with GAE (`gae`), and runs `num_epochs` passes of
shuffled minibatch updates of `ppo_loss` with optax. The whole update is one
jitted function of an immutable `TrainingState`; the PRNG key that shuffles
the minibatches is split at each use and lives in that state.

The learner is an `acme.core.Learner` and so a `VariableSource`: actors pull
the current parameters with `get_variables(["params"])`.
"""

import functools
from typing import Callable, Iterator, List, NamedTuple, Sequence

from acme import core
import jax
import jax.numpy as jnp
import optax

from umd_meltingpot.agents.ppo import networks as networks_lib

PRNGKey = networks_lib.PRNGKey
Params = networks_lib.Params
Observation = networks_lib.Observation
Metrics = dict[str, jax.Array]
ApplyFn = Callable[[Params, Observation], tuple[jax.Array, jax.Array]]
VARIABLE_NAMES = ("params", "policy")  # Both name the network parameters.


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


class TrainingState(NamedTuple):
  """Everything the learner updates.

  Attributes:
    params: the network parameters.
    opt_state: the optax optimiser state.
    random_key: the key that shuffles minibatches; split at each use.
    num_updates: the number of `step()`s taken, int32.
  """
  params: Params
  opt_state: optax.OptState
  random_key: PRNGKey
  num_updates: jax.Array


def gae(rewards: jax.Array, values: jax.Array, discounts: jax.Array,
        bootstrap_value: jax.Array,
        gae_lambda: float) -> tuple[jax.Array, jax.Array]:
  """Generalised advantage estimation (Schulman et al. 2016), time-major.

  A_t = delta_t + gamma_t lambda A_{t+1}, with
  delta_t = r_t + gamma_t V(s_{t+1}) - V(s_t), where gamma_t = `discounts[t]`
  is gamma, or 0 when the episode ended at step t.

  Args:
    rewards: [T, ...] rewards r_t.
    values: [T, ...] values V(s_t).
    discounts: [T, ...] gamma_t.
    bootstrap_value: [...] V(s_T), the value after the last step.
    gae_lambda: lambda.

  Returns:
    (advantages, value targets = advantages + values), each [T, ...].
  """
  next_values = jnp.concatenate([values[1:], bootstrap_value[None]], axis=0)
  deltas = rewards + discounts * next_values - values

  def backward(carry: jax.Array, step: tuple[jax.Array, jax.Array]):
    delta, discount = step
    advantage = delta + discount * gae_lambda * carry
    return advantage, advantage

  _, advantages = jax.lax.scan(backward, jnp.zeros_like(bootstrap_value),
                               (deltas, discounts), reverse=True)
  return advantages, advantages + values


def ppo_loss(params: Params, observation: Observation, action: jax.Array,
             old_log_prob: jax.Array, advantage: jax.Array,
             target: jax.Array, *, apply: ApplyFn, clip_epsilon: float,
             entropy_cost: float,
             value_cost: float) -> tuple[jax.Array, Metrics]:
  """The PPO clipped-surrogate loss (Schulman et al. 2017, eq. 7 and 9).

  Advantages are normalised within the minibatch.

  Args:
    params: the parameters to differentiate.
    observation, action, old_log_prob, advantage, target: one minibatch,
      flat [N, ...].
    apply: the network's apply function.
    clip_epsilon: ratios outside [1 - eps, 1 + eps] earn no gradient.
    entropy_cost: weight of the entropy bonus.
    value_cost: weight of the squared value error.

  Returns:
    (loss, metrics): the scalar loss and its parts, named `loss_total`,
    `loss_policy`, `loss_value`, `entropy`, `approx_kl`, `clip_fraction`.
  """
  logits, values = apply(params, observation)
  log_prob = networks_lib.log_prob(logits, action)
  advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
  log_ratio = log_prob - old_log_prob
  ratio = jnp.exp(log_ratio)
  clipped = jnp.clip(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon)
  loss_policy = -jnp.minimum(ratio * advantage, clipped * advantage).mean()
  loss_value = 0.5 * jnp.square(values - target).mean()
  entropy = networks_lib.entropy(logits).mean()
  loss = loss_policy + value_cost * loss_value - entropy_cost * entropy
  metrics = {
      "loss_total": loss,
      "loss_policy": loss_policy,
      "loss_value": loss_value,
      "entropy": entropy,
      # The low-variance estimator (ratio - 1) - log ratio (J. Schulman,
      # "Approximating KL Divergence", 2020).
      "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
      "clip_fraction": (jnp.abs(ratio - 1.0) > clip_epsilon).mean(),
  }
  return loss, metrics


def _explained_variance(values: jax.Array, targets: jax.Array) -> jax.Array:
  return 1.0 - jnp.var(targets - values) / (jnp.var(targets) + 1e-8)


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
      clip_epsilon, entropy_cost, value_cost: see `ppo_loss`.
      num_epochs: passes over each batch.
      num_minibatches: minibatches per pass; must divide T x B.
    """
    self._iterator = iterator
    init_key, state_key = jax.random.split(random_key)
    params = networks.init(init_key)
    self._state = TrainingState(
        params=params, opt_state=optimizer.init(params),
        random_key=state_key, num_updates=jnp.zeros((), jnp.int32))
    loss = functools.partial(
        ppo_loss, apply=networks.apply, clip_epsilon=clip_epsilon,
        entropy_cost=entropy_cost, value_cost=value_cost)
    self._update = jax.jit(functools.partial(
        _update, loss=loss, optimizer=optimizer, discount=discount,
        gae_lambda=gae_lambda, num_epochs=num_epochs,
        num_minibatches=num_minibatches))
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


def _update(state: TrainingState, batch: Batch, *, loss, optimizer,
            discount: float, gae_lambda: float, num_epochs: int,
            num_minibatches: int) -> tuple[TrainingState, Metrics]:
  """One PPO update: GAE, then epochs of shuffled minibatch steps."""
  advantages, targets = gae(batch.reward, batch.value,
                            discount * batch.discount, batch.bootstrap_value,
                            gae_lambda)
  flat = jax.tree_util.tree_map(
      lambda x: x.reshape((-1,) + x.shape[2:]),
      (batch.observation, batch.action, batch.log_prob, advantages, targets))
  num_samples = batch.action.size
  grad_fn = jax.grad(loss, has_aux=True)

  def minibatch_step(carry, minibatch):
    params, opt_state = carry
    grads, metrics = grad_fn(params, *minibatch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    metrics["grad_norm"] = optax.global_norm(grads)
    return (optax.apply_updates(params, updates), opt_state), metrics

  def epoch(carry, key):
    params, opt_state = carry
    order = jax.random.permutation(key, num_samples)
    minibatches = jax.tree_util.tree_map(
        lambda x: x[order].reshape(
            (num_minibatches, -1) + x.shape[1:]), flat)
    return jax.lax.scan(minibatch_step, (params, opt_state), minibatches)

  random_key, *epoch_keys = jax.random.split(state.random_key, num_epochs + 1)
  (params, opt_state), metrics = jax.lax.scan(
      epoch, (state.params, state.opt_state), jnp.stack(epoch_keys))
  metrics = jax.tree_util.tree_map(jnp.mean, metrics)
  metrics["explained_variance"] = _explained_variance(
      batch.value.ravel(), targets.ravel())
  metrics["advantage_mean"] = advantages.mean()
  return TrainingState(params=params, opt_state=opt_state,
                       random_key=random_key,
                       num_updates=state.num_updates + 1), metrics


def make_optimizer(learning_rate: float, adam_epsilon: float,
                   max_grad_norm: float) -> optax.GradientTransformation:
  """Global-norm clipping, then Adam."""
  return optax.chain(optax.clip_by_global_norm(max_grad_norm),
                     optax.adam(learning_rate, eps=adam_epsilon))

