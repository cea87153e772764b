"""The parameter-shared actor-critic, in plain JAX.

One set of parameters serves every player: the player's index enters as an
agent-id one-hot next to the observation (the IPPO/MAPPO recipe). The actor
and the critic are separate MLPs over the same input; with RGB input a
small CNN, shared by both, turns the view into that input first.

Parameters are nested dicts of arrays with string keys, so checkpoints can
store them by path (`actor/hidden_0/w`). The MLPs are `layers.py`'s, which
the RL principal shares; the policy is `algorithm.CATEGORICAL`.
"""

import dataclasses
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.ppo import algorithm
from umd_meltingpot.agents.ppo import config as config_lib
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.ppo import layers

PRNGKey = jax.Array
Params = Mapping[str, Any]
Observation = Mapping[str, jax.Array]
NUM_ACTIONS = obs_lib.NUM_COMMONS_ACTIONS  # The HARVEST actions.

_RGB_CHANNELS = (16, 32)  # Channels of the two CNN layers.


@dataclasses.dataclass(frozen=True)
class PPONetworks:
  """Pure functions of the actor-critic.

  Attributes:
    init: a PRNG key -> fresh parameters.
    apply: (params, observation with one batch axis) -> (logits of shape
      [batch, num_actions], values of shape [batch]).
    num_actions: the size of the action space.
  """
  init: Callable[[PRNGKey], Params]
  apply: Callable[[Params, Observation], tuple[jax.Array, jax.Array]]
  num_actions: int


# The followers' policy is a categorical over the actions.
log_prob = algorithm.categorical_log_prob
entropy = algorithm.categorical_entropy
sample = algorithm.categorical_sample


def _conv_init(key: PRNGKey, kernel: int, channels_in: int,
               channels_out: int) -> dict[str, jax.Array]:
  shape = (kernel, kernel, channels_in, channels_out)
  w = jax.nn.initializers.orthogonal(layers.HIDDEN_SCALE)(key, shape)
  return {"w": w, "b": jnp.zeros((channels_out,))}


def _conv(params: Mapping[str, jax.Array], x: jax.Array,
          stride: int) -> jax.Array:
  y = jax.lax.conv_general_dilated(
      x, params["w"], window_strides=(stride, stride), padding="SAME",
      dimension_numbers=("NHWC", "HWIO", "NHWC"))
  return y + params["b"]


def _cnn_init(key: PRNGKey) -> dict:
  k1, k2 = jax.random.split(key)
  cell = obs_lib.CELL_SIZE
  return {"conv_0": _conv_init(k1, cell, 3, _RGB_CHANNELS[0]),
          "conv_1": _conv_init(k2, 3, _RGB_CHANNELS[0], _RGB_CHANNELS[1])}


def _cnn(params: Mapping[str, Any], rgb: jax.Array) -> jax.Array:
  # The first layer reads one 8x8 sprite cell per output position.
  x = rgb.astype(jnp.float32) / 255.0
  x = jax.nn.relu(_conv(params["conv_0"], x, stride=obs_lib.CELL_SIZE))
  x = jax.nn.relu(_conv(params["conv_1"], x, stride=1))
  return x.reshape(x.shape[0], -1)


def make_networks(*,
                  observation: str,
                  num_rates: int,
                  hidden_size: int,
                  num_hidden_layers: int,
                  max_agents: int,
                  condition_on_mechanism: bool = False,
                  num_actions: int = NUM_ACTIONS,
                  observe_skill: bool = False) -> PPONetworks:
  """The actor-critic for one observation kind.

  Args:
    observation: "symbolic" (one-hot cell grid) or "rgb" (CNN on the view).
    num_rates: k, the number of tax rates observed.
    hidden_size: units per hidden layer.
    num_hidden_layers: hidden layers of each MLP.
    max_agents: size of the agent-id one-hot (ids wrap modulo it).
    condition_on_mechanism: the vector input also holds the bracket position
      (`features.vector_size`).
    num_actions: size of the action space.
    observe_skill: the vector input also holds the player's SKILL, last.

  Raises:
    ValueError: an unknown observation kind.
  """
  if observation not in config_lib.OBSERVATIONS:
    raise ValueError(f"observation must be one of {config_lib.OBSERVATIONS},"
                     f" got {observation!r}")
  input_size = view_size(observation) + features.vector_size(
      num_rates, condition_on_mechanism, observe_skill) + max_agents

  def torso(params: Params, obs: Observation) -> jax.Array:
    if observation == "symbolic":
      grid = obs["grid"].astype(jnp.int32)
      view = jax.nn.one_hot(grid, features.NUM_CELL_CLASSES)
      view = view.reshape(grid.shape[0], -1)
    else:
      view = _cnn(params["torso"], obs["rgb"])
    agent = jax.nn.one_hot(obs["agent_id"] % max_agents, max_agents)
    return jnp.concatenate(
        [view, obs["vector"].astype(jnp.float32), agent], axis=-1)

  def init(key: PRNGKey) -> Params:
    k_torso, k_actor, k_critic = jax.random.split(key, 3)
    hidden = (input_size,) + (hidden_size,) * num_hidden_layers
    params = {
        "actor": layers.mlp_init(k_actor, hidden + (num_actions,),
                                 head="logits", head_scale=0.01),
        "critic": layers.mlp_init(k_critic, hidden + (1,), head="value",
                                  head_scale=1.0),
    }
    if observation == "rgb":
      params["torso"] = _cnn_init(k_torso)
    return params

  def apply(params: Params, obs: Observation) -> tuple[jax.Array, jax.Array]:
    x = torso(params, obs)
    logits = layers.mlp(params["actor"], x, head="logits",
                        activation=jax.nn.relu)
    value = layers.mlp(params["critic"], x, head="value",
                       activation=jax.nn.relu)[:, 0]
    return logits, value

  return PPONetworks(init=init, apply=apply, num_actions=num_actions)


def view_size(observation: str) -> int:
  """Width of the view's part of the MLP input, which comes first (then the
  vector, then the agent id)."""
  rows, cols = features.VIEW_SHAPE
  if observation == "symbolic":
    return rows * cols * features.NUM_CELL_CLASSES
  return rows * cols * _RGB_CHANNELS[-1]


def make_networks_from_config(config: config_lib.PPOConfig,
                              num_rates: int) -> PPONetworks:
  """`make_networks` with the sizes of `config`."""
  return make_networks(
      observation=config.observation, num_rates=num_rates,
      hidden_size=config.hidden_size,
      num_hidden_layers=config.num_hidden_layers,
      max_agents=config.max_agents,
      condition_on_mechanism=config.condition_on_mechanism,
      observe_skill=config.observe_skill)


# The MLPs that read the torso's output: their first layer's rows are the
# input's columns.
_INPUT_LAYERS = (("actor", "hidden_0"), ("critic", "hidden_0"))


def add_skill_input(params: Params, config: config_lib.PPOConfig,
                    num_rates: int) -> dict[str, Any]:
  """`params` of a network without the SKILL input, widened for the network
  `config` describes (`config.observe_skill`): a zero row in each MLP's first
  layer where SKILL enters, so the widened network computes exactly what
  the old one did, whatever the skill, until it learns to use it.

  Args:
    params: the narrower network's parameters (not checked here; the
      caller checks the result against the network).
    config: the PPO config of the wider network.
    num_rates: k, the tax rates observed.
  """
  row = view_size(config.observation) + features.vector_size(
      num_rates, config.condition_on_mechanism, skill=True) - 1
  widened = {name: dict(part) for name, part in params.items()}
  for mlp_name, layer in _INPUT_LAYERS:
    dense = dict(widened[mlp_name][layer])
    w = jnp.asarray(dense["w"])
    dense["w"] = jnp.concatenate(
        [w[:row], jnp.zeros((1, w.shape[1]), w.dtype), w[row:]], axis=0)
    widened[mlp_name] = {**widened[mlp_name], layer: dense}
  return widened
