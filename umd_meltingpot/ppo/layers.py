"""Dense layers and MLPs for the PPO actor-critics, in plain JAX.

The followers' networks (`networks.py`) and the RL principal
(`umd_meltingpot.principal.rl`) both build their MLPs here. JAX only, so the
principal can import it without Melting Pot.

Parameters are nested dicts with string keys: an MLP is
{"hidden_0": {"w", "b"}, ..., <head>: {"w", "b"}}, so checkpoints store them
by path (`actor/hidden_0/w`).
"""

import math
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

PRNGKey = jax.Array
Activation = Callable[[jax.Array], jax.Array]

# The gain of every hidden layer, right for relu and used for tanh too.
HIDDEN_SCALE = math.sqrt(2.0)


def dense_init(key: PRNGKey, fan_in: int, fan_out: int,
               scale: float) -> dict[str, jax.Array]:
  """Orthogonal weights times `scale`, zero biases.

  Orthogonal initialisation (Saxe, McClelland and Ganguli, "Exact solutions
  to the nonlinear dynamics of learning in deep linear neural networks",
  ICLR 2014), with the gains PPO implementations use: sqrt(2) for hidden
  layers, 1 for the value head and 0.01 for the policy head, so that the
  first policy is close to uniform (or, for the principal, to rates of
  sigmoid(0) = 0.5).
  """
  w = jax.nn.initializers.orthogonal(scale)(key, (fan_in, fan_out))
  return {"w": w, "b": jnp.zeros((fan_out,))}


def dense(params: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
  return x @ params["w"] + params["b"]


def mlp_init(key: PRNGKey, sizes: Sequence[int], *, head: str,
             head_scale: float) -> dict[str, Any]:
  """An MLP's parameters: layers `hidden_i`, then the layer `head`.

  Args:
    key: seeds the weights; layer i uses the i-th of len(sizes) - 1 keys.
    sizes: the input size, the hidden sizes, then the output size.
    head: the name of the output layer.
    head_scale: the output layer's gain (see `dense_init`).
  """
  keys = jax.random.split(key, len(sizes) - 1)
  params = {}
  for i, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1])):
    params[f"hidden_{i}"] = dense_init(keys[i], fan_in, fan_out, HIDDEN_SCALE)
  params[head] = dense_init(keys[-1], sizes[-2], sizes[-1], head_scale)
  return params


def mlp(params: Mapping[str, Any], x: jax.Array, *, head: str,
        activation: Activation) -> jax.Array:
  """Applies an `mlp_init` MLP: `activation` after each hidden layer."""
  for i in range(len(params) - 1):
    x = activation(dense(params[f"hidden_{i}"], x))
  return dense(params[head], x)
