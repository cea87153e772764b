"""One PPO update, for the followers and for the RL principal.

Read top to bottom, this file is the algorithm (Schulman et al. 2017,
"Proximal Policy Optimization Algorithms", arXiv:1707.06347):

1. the policy's distribution (`Distribution`): a categorical over actions
   for the followers, a diagonal Gaussian with a state-independent log std
   for the principal's pre-squash rates;
2. the steps learnt from (`Rollout`) and generalised advantage estimation
   over them (`gae`);
3. the clipped-surrogate loss with a value loss and an entropy bonus
   (`ppo_loss`);
4. the update (`ppo_update`): GAE, then `num_epochs` passes of minibatch
   gradient steps with the optimiser of `make_optimizer`, as one pure
   function of an immutable `TrainingState`.

The network enters as `apply(params, observation) -> (distribution
parameters, values)`. `learning.PPOLearner` runs the followers' updates and
`umd_meltingpot.principal.rl.RLPrincipal` the principal's. JAX and optax
only (no Acme, no Melting Pot), so the principal can import it.
"""

import math
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

PRNGKey = jax.Array
Params = Any  # Nested dicts of arrays (see `layers`).
Metrics = dict[str, jax.Array]
ApplyFn = Callable[[Params, Any], tuple[Any, jax.Array]]

# ---------------------------------------------------------- distributions


class Distribution(NamedTuple):
  """A policy distribution as pure functions of its parameters.

  Attributes:
    sample: (key, parameters) -> one action per sample.
    log_prob: (parameters, actions) -> log pi(action), per sample.
    entropy: parameters -> the entropy, per sample.
  """
  sample: Callable[[PRNGKey, Any], jax.Array]
  log_prob: Callable[[Any, jax.Array], jax.Array]
  entropy: Callable[[Any], jax.Array]


def categorical_sample(key: PRNGKey, logits: jax.Array) -> jax.Array:
  """Draws one action per row of `logits`."""
  return jax.random.categorical(key, logits)


def categorical_log_prob(logits: jax.Array, actions: jax.Array) -> jax.Array:
  """log pi(action) under categorical `logits`, per sample."""
  log_probs = jax.nn.log_softmax(logits)
  return jnp.take_along_axis(log_probs, actions[..., None], axis=-1)[..., 0]


def categorical_entropy(logits: jax.Array) -> jax.Array:
  """The categorical entropy, per sample."""
  log_probs = jax.nn.log_softmax(logits)
  return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


CATEGORICAL = Distribution(categorical_sample, categorical_log_prob,
                           categorical_entropy)

# A Gaussian's parameters: (mean [..., k], log std [k]); the log std is
# state-independent, so it broadcasts over the samples.
GaussianParams = tuple[jax.Array, jax.Array]
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_2PI_E = math.log(2.0 * math.pi * math.e)


def gaussian_sample(key: PRNGKey, params: GaussianParams) -> jax.Array:
  """Draws z ~ N(mean, std^2), per sample."""
  mean, log_std = params
  return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)


def gaussian_log_prob(params: GaussianParams, z: jax.Array) -> jax.Array:
  """log N(z; mean, std^2), summed over the k dimensions."""
  mean, log_std = params
  squares = ((z - mean) / jnp.exp(log_std)) ** 2
  return -0.5 * jnp.sum(squares + 2 * log_std + _LOG_2PI, -1)


def gaussian_entropy(params: GaussianParams) -> jax.Array:
  """The entropy, the sum over k of log std + log(2 pi e) / 2.

  The log std is state-independent, so this is one value for all samples
  (shape `log_std.shape[:-1]`), which broadcasts like a per-sample one.
  """
  _, log_std = params
  return jnp.sum(log_std + 0.5 * _LOG_2PI_E, -1)


GAUSSIAN = Distribution(gaussian_sample, gaussian_log_prob, gaussian_entropy)

# ---------------------------------------------------------- rollouts and GAE


class Rollout(NamedTuple):
  """Steps to learn from, time first: leading axes [T, ...].

  A step's successor is step t + 1 of the rollout where `continues[t]` is
  1. The followers' rollouts are time-major [T, B] and always continue (an
  episode's end is a zero discount); the principal's steps are rounds,
  possibly from several games, whose successors may be missing.

  Attributes:
    observation: the observations acted on (any pytree of [T, ...]).
    action: the actions taken.
    log_prob: log pi(action) under the acting parameters.
    value: the critic's values of `observation` when acting.
    reward: the rewards that followed each action.
    next_value: the acting critic's value of each step's successor
      (anything where `discount` is 0).
    discount: gamma, or 0 where the episode ended with the step.
    continues: 1 where step t + 1 is step t's successor, else 0.
  """
  observation: Any
  action: jax.Array
  log_prob: jax.Array
  value: jax.Array
  reward: jax.Array
  next_value: jax.Array
  discount: jax.Array
  continues: jax.Array


def successor_values(values: jax.Array,
                     bootstrap_value: jax.Array) -> jax.Array:
  """Each step's next value in a time-major rollout: V(s_{t+1}), with
  `bootstrap_value` = V(s_T) after the last step."""
  return jnp.concatenate([values[1:], bootstrap_value[None]], axis=0)


def gae(rewards: jax.Array, values: jax.Array, next_values: jax.Array,
        discounts: jax.Array, continues: jax.Array,
        gae_lambda: float) -> tuple[jax.Array, jax.Array]:
  """Generalised advantage estimation (Schulman et al. 2016, ICLR).

  A_t = delta_t + gamma_t lambda c_t A_{t+1}, with
  delta_t = r_t + gamma_t V'_t - V(s_t), where V'_t = `next_values[t]`,
  gamma_t = `discounts[t]` (0 when the episode ended at step t) and
  c_t = `continues[t]` (0 when step t + 1 is not step t's successor: the
  advantage then stops at the one-step delta, bootstrapped by V'_t).

  Args:
    rewards, values, next_values, discounts, continues: [T, ...].
    gae_lambda: lambda.

  Returns:
    (advantages, value targets = advantages + values), each [T, ...].
  """
  deltas = rewards + discounts * next_values - values

  def backward(later: jax.Array, step: tuple[jax.Array, ...]):
    delta, discount, continued = step
    advantage = delta + discount * gae_lambda * continued * later
    return advantage, advantage

  _, advantages = jax.lax.scan(backward, jnp.zeros_like(values[0]),
                               (deltas, discounts, continues), reverse=True)
  return advantages, advantages + values

# ---------------------------------------------------------- the loss


def ppo_loss(params: Params, observation: Any, action: jax.Array,
             old_log_prob: jax.Array, advantage: jax.Array,
             target: jax.Array, entropy_cost: jax.Array, *, apply: ApplyFn,
             distribution: Distribution, clip_epsilon: float,
             value_cost: float,
             advantage_epsilon: float) -> tuple[jax.Array, Metrics]:
  """The PPO clipped-surrogate loss (Schulman et al. 2017, eq. 7 and 9).

  Advantages are normalised within the minibatch (Engstrom et al. 2020,
  "Implementation Matters in Deep Policy Gradients", ICLR).

  Args:
    params: the parameters to differentiate.
    observation, action, old_log_prob, advantage, target: one minibatch,
      flat [N, ...].
    entropy_cost: weight of the entropy bonus (a scalar, may be annealed).
    apply: the network: (params, observation) -> (distribution parameters,
      values).
    distribution: the policy's distribution.
    clip_epsilon: ratios outside [1 - eps, 1 + eps] earn no gradient.
    value_cost: weight of the squared value error.
    advantage_epsilon: added to the advantages' std before dividing.

  Returns:
    (loss, metrics): the scalar loss and its parts, named `loss_total`,
    `loss_policy`, `loss_value`, `entropy`, `approx_kl`, `clip_fraction`.
  """
  policy, values = apply(params, observation)
  log_prob = distribution.log_prob(policy, action)
  advantage = ((advantage - advantage.mean()) /
               (advantage.std() + advantage_epsilon))
  log_ratio = log_prob - old_log_prob
  ratio = jnp.exp(log_ratio)
  clipped = jnp.clip(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon)
  loss_policy = -jnp.minimum(ratio * advantage, clipped * advantage).mean()
  loss_value = 0.5 * jnp.square(values - target).mean()
  entropy = distribution.entropy(policy).mean()
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

# ---------------------------------------------------------- the update


class TrainingState(NamedTuple):
  """Everything an update changes.

  Attributes:
    params: the network parameters.
    opt_state: the optax optimiser state over `params`.
    random_key: split at each use: the followers' learner shuffles
      minibatches with it, the principal samples its actions with it.
    num_updates: the number of updates done, int32.
  """
  params: Params
  opt_state: optax.OptState
  random_key: PRNGKey
  num_updates: jax.Array


def init_state(params: Params, optimizer: optax.GradientTransformation,
               random_key: PRNGKey) -> TrainingState:
  """The state before the first update."""
  return TrainingState(params=params, opt_state=optimizer.init(params),
                       random_key=random_key,
                       num_updates=jnp.zeros((), jnp.int32))


def make_optimizer(learning_rate: float, adam_epsilon: float,
                   max_grad_norm: float) -> optax.GradientTransformation:
  """Global-norm gradient clipping, then Adam."""
  return optax.chain(optax.clip_by_global_norm(max_grad_norm),
                     optax.adam(learning_rate, eps=adam_epsilon))


def explained_variance(values: jax.Array, targets: jax.Array) -> jax.Array:
  """1 - Var(targets - values) / Var(targets): 1 for a perfect critic."""
  return 1.0 - jnp.var(targets - values) / (jnp.var(targets) + 1e-8)


def ppo_update(state: TrainingState, rollout: Rollout,
               entropy_cost: jax.Array, *, apply: ApplyFn,
               distribution: Distribution,
               optimizer: optax.GradientTransformation, gae_lambda: float,
               clip_epsilon: float, value_cost: float,
               advantage_epsilon: float, num_epochs: int,
               num_minibatches: int) -> tuple[TrainingState, Metrics]:
  """One PPO update: GAE, then epochs of minibatch gradient steps.

  Each epoch shuffles the T x ... samples into `num_minibatches` equal
  minibatches (which must divide them). With one minibatch an epoch is a
  full-batch step: nothing is shuffled and the state's key is left alone.

  Args:
    state: the parameters, optimiser state and key to update.
    rollout: the steps, acted on with `state.params` (or close to them).
    entropy_cost, apply, distribution, clip_epsilon, value_cost,
      advantage_epsilon: see `ppo_loss`.
    optimizer: the optax transformation `state.opt_state` belongs to.
    gae_lambda: GAE's lambda.
    num_epochs: passes over the rollout.
    num_minibatches: minibatches per pass.

  Returns:
    The new state (`num_updates` + 1) and the metrics: `ppo_loss`'s and
    `grad_norm` averaged over all minibatch steps, `explained_variance`
    and `advantage_mean` of the rollout.
  """
  advantages, targets = gae(rollout.reward, rollout.value,
                            rollout.next_value, rollout.discount,
                            rollout.continues, gae_lambda)
  time_axes = rollout.value.ndim  # [T] for the principal, [T, B] else.
  flat = jax.tree_util.tree_map(
      lambda x: x.reshape((-1,) + x.shape[time_axes:]),
      (rollout.observation, rollout.action, rollout.log_prob, advantages,
       targets))
  num_samples = rollout.value.size
  loss = lambda params, *minibatch: ppo_loss(
      params, *minibatch, entropy_cost, apply=apply,
      distribution=distribution, clip_epsilon=clip_epsilon,
      value_cost=value_cost, advantage_epsilon=advantage_epsilon)
  grad_fn = jax.grad(loss, has_aux=True)

  def minibatch_step(carry, minibatch):
    params, opt_state = carry
    grads, metrics = grad_fn(params, *minibatch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    metrics["grad_norm"] = optax.global_norm(grads)
    return (optax.apply_updates(params, updates), opt_state), metrics

  def epoch(carry, key: Optional[PRNGKey]):
    if key is None:  # The whole batch: its order changes no gradient.
      minibatches = jax.tree_util.tree_map(lambda x: x[None], flat)
    else:
      order = jax.random.permutation(key, num_samples)
      minibatches = jax.tree_util.tree_map(
          lambda x: x[order].reshape((num_minibatches, -1) + x.shape[1:]),
          flat)
    return jax.lax.scan(minibatch_step, carry, minibatches)

  if num_minibatches == 1:
    random_key, epoch_keys = state.random_key, None
  else:
    random_key, *keys = jax.random.split(state.random_key, num_epochs + 1)
    epoch_keys = jnp.stack(keys)
  (params, opt_state), metrics = jax.lax.scan(
      epoch, (state.params, state.opt_state), epoch_keys, length=num_epochs)
  metrics = jax.tree_util.tree_map(jnp.mean, metrics)
  metrics["explained_variance"] = explained_variance(
      rollout.value.ravel(), targets.ravel())
  metrics["advantage_mean"] = advantages.mean()
  return TrainingState(params=params, opt_state=opt_state,
                       random_key=random_key,
                       num_updates=state.num_updates + 1), metrics
