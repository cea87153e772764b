"""Trained PPO followers as Melting Pot policies.

  from umd_meltingpot.agents.ppo import policy
  bot = policy.PPOPolicy.from_checkpoint(policy.DEFAULT_CHECKPOINT,
                                         agent_id=0)
  state = bot.initial_state()
  action, state = bot.step(timestep, state)

`PPOPolicy` plays HARVEST steps by sampling the trained network, votes in
VOTE steps through a `bots.Voter` (as in training, where the followers'
VOTE steps are masked and played by truthful voters), and does nothing once
the game is over. Like the heuristic bots it keeps nothing mutable on
`self`: the slot's PRNG key is the whole state, so one object may serve
several slots on threads. The key is seeded on the slot's first step from
the policy's seed and that step's view. In a game, `form_teams` (called by
the bot factory) puts the policies of one network in a `PPOTeam`, which
the game loop steps in one jitted call for all of them, to the same
actions and keys.
"""

import functools
import os
import pathlib
from typing import (Any, Callable, Collection, Mapping, NamedTuple,
                    Optional, Sequence, Union)

import dm_env
import jax
import jax.numpy as jnp
from meltingpot.utils.policies import policy
import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.plumbing import validation
from umd_meltingpot.agents import bots
from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.ppo import checkpoint as checkpoint_lib
from umd_meltingpot.agents.ppo import config as config_lib
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.agents.ppo import networks as networks_lib
from umd_meltingpot.substrates import phases

DEFAULT_CHECKPOINT = (pathlib.Path(__file__).resolve().parent.parent
                      / "checkpoints" / "ppo_small.npz")


class PolicyState(NamedTuple):
  """A slot's state: its PRNG key (uint32[2]), None before its first step,
  and the VOTE steps taken in the current VOTE phase (0 outside one)."""
  key: Optional[np.ndarray] = None
  vote_step: int = 0


class TrainedFollower(NamedTuple):
  """A loaded checkpoint, ready to build policies from.

  Attributes:
    params: the network parameters.
    networks: the actor-critic they belong to.
    observation: the observation kind ("symbolic" or "rgb").
    num_rates: k, the tax rates the network observes.
    num_players: the players it was trained with (agent ids wrap modulo).
    source: where it came from, for messages.
    mechanism: for a follower conditioned on the mechanism, the cap and
      bracket edges of the game it was trained on, which its bracket
      position is read against; None for a plain one.
    game: the game it was trained on (`trained_game.of_summary`); None for
      a checkpoint that does not record it.
    observe_skill: whether it reads its player's SKILL (checkpoints written
      before the option existed do not).
  """
  params: Mapping[str, Any]
  networks: networks_lib.PPONetworks
  observation: str
  num_rates: int
  num_players: int
  source: str
  mechanism: Optional[features.Mechanism] = None
  game: Optional[trained_game.Game] = None
  observe_skill: bool = False


# What every follower reads; a conditioned one also reads its bracket.
_OBSERVATIONS = frozenset({"RGB", "READY_TO_SHOOT", "PHASE", "TAX_RATES"})
_MECHANISM_OBSERVATIONS = frozenset({"PERIOD_INCOME", "MARGINAL_RATE"})
_SKILL_OBSERVATIONS = frozenset({"SKILL"})


def observations_read(follower: TrainedFollower) -> frozenset[str]:
  """The individual observations `follower` needs at every step."""
  read = _OBSERVATIONS
  if follower.mechanism is not None:
    read |= _MECHANISM_OBSERVATIONS
  if follower.observe_skill:
    read |= _SKILL_OBSERVATIONS
  return read


def views(follower: TrainedFollower) -> tuple[str, ...]:
  """The player views (the substrate config's `player_views`) `follower`
  plays from: the pixels for one trained on them, else the bots' (its cells
  and its seed, `bots.VIEWS`), which give the same play without rendering."""
  return ("RGB",) if follower.observation == "rgb" else bots.VIEWS


def check_game(follower: TrainedFollower, substrate_config: Any,
               num_players: int, *, allow_mismatch: bool = False,
               observations: Optional[Collection[str]] = None) -> None:
  """Refuses `follower` on a game other than the one it learnt.

  Args:
    follower: a loaded follower.
    substrate_config: the game's substrate config.
    num_players: the game's number of players.
    allow_mismatch: let it play another game (players, map, edges,
      max_rate, bracket window), with a warning on stderr.
    observations: the observations the game shows the follower's players;
      None: all of the substrate's.

  Raises:
    ValueError: the games differ and `allow_mismatch` is False, or the game
      hides an observation the follower reads (it could not play, so this
      is refused even with `allow_mismatch`).
  """
  if observations is not None:
    hidden = sorted(observations_read(follower) - set(observations))
    if hidden:
      raise ValueError(
          f"{follower.source} reads observations {hidden}, which this game "
          f"does not show its players (it shows {sorted(observations)})")
  if follower.game is None:
    trained_game.warn(f"{follower.source} does not record the game it was "
                      "trained on; it cannot be checked against this one")
    return
  trained_game.check(follower.source, follower.game,
                     trained_game.of_config(substrate_config, num_players),
                     allow=allow_mismatch)


def load(path: Union[str, os.PathLike]) -> TrainedFollower:
  """Loads a checkpoint written by `umd train`.

  Raises:
    ValueError: the file is missing or corrupt, its config is incomplete, or
      its parameters do not fit the network its config describes.
  """
  resolved = pathlib.Path(path).expanduser().resolve()
  mtime = resolved.stat().st_mtime_ns if resolved.is_file() else 0
  return _load_cached(str(resolved), mtime)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime: int) -> TrainedFollower:
  del mtime  # Part of the cache key only: a rewritten file is reloaded.
  loaded = checkpoint_lib.load(path)
  positive = validation.integer(ge=1)
  num_rates = checkpoint_format.field(loaded.config, "num_rates", positive,
                                      path, where="config")
  num_players = checkpoint_format.field(loaded.config, "num_players",
                                        positive, path, where="config")
  saved = checkpoint_format.field(
      loaded.config, "ppo", checkpoint_format.JSON_OBJECT, path,
      where="config")
  try:
    ppo = config_lib.PPOConfig(**saved)
  except (TypeError, ValueError) as error:
    raise ValueError(f"{path}: config 'ppo' is invalid: {error}") from None
  networks = networks_lib.make_networks_from_config(ppo, num_rates)
  template = networks.init(jax.random.PRNGKey(0))
  checkpoint_lib.check_params(loaded.params, template, path)
  params = jax.tree_util.tree_map(jnp.asarray, loaded.params)
  mechanism = None
  if ppo.condition_on_mechanism:
    substrate = checkpoint_format.field(
        loaded.config, "substrate_config", checkpoint_format.JSON_OBJECT,
        path, where="config")
    try:
      mechanism = features.Mechanism.of(substrate)
    except (KeyError, TypeError, ValueError) as error:
      raise ValueError(f"{path}: config 'substrate_config' lacks the "
                       f"mechanism: {error!r}") from None
  return TrainedFollower(params=params, networks=networks,
                         observation=ppo.observation, num_rates=num_rates,
                         num_players=num_players, source=path,
                         mechanism=mechanism,
                         game=_trained_game(loaded.config, num_players, path),
                         observe_skill=ppo.observe_skill)


def _trained_game(config: Mapping[str, Any], num_players: int,
                  path: str) -> Optional[trained_game.Game]:
  """The game a checkpoint's config records; None if it records none."""
  if "substrate_config" not in config:
    return None
  summary = checkpoint_format.field(
      config, "substrate_config", checkpoint_format.JSON_OBJECT, path,
      where="config")
  try:
    return trained_game.of_summary(summary, players=num_players)
  except (KeyError, TypeError, ValueError) as error:
    raise ValueError(f"{path}: config 'substrate_config' does not describe "
                     f"the game: {error!r}") from None


class _Actors(NamedTuple):
  """The jitted samplers of one network. Each returns uint32 rows of
  (action, next key), so one transfer brings every player's back."""
  one: Callable[..., jax.Array]
  """(params, observation with a batch axis of 1, key) -> uint32[3]."""
  team: Callable[..., jax.Array]
  """(params, observations with a player axis, keys[p, 2]) ->
  uint32[p, 3]: `one` for each player."""


@functools.lru_cache(maxsize=16)
def _actors(apply, greedy: bool) -> _Actors:
  """The action samplers of one network, shared by every policy built from
  it: a game builds a policy per player, and compiling each anew cost more
  than playing the game."""

  def act(key, logits):
    """One player's action and next key from its logits [1, actions]."""
    key, sample_key = jax.random.split(key)
    if greedy:
      action = jnp.argmax(logits[0])
    else:
      action = networks_lib.sample(sample_key, logits)[0]
    return jnp.concatenate([action.astype(jnp.uint32)[None], key])

  def one(params, observation, key):
    return act(key, apply(params, observation)[0])

  def team(params, observations, keys):
    # The network in a loop over the players, not batched: a matmul over
    # several players sums in another order than one over a single player,
    # and a logit's last bit can flip a sample. The sampling is vmapped:
    # PRNG bits and elementwise maths are the same in a batch.
    logits = jax.lax.map(
        lambda observation: apply(params, jax.tree_util.tree_map(
            lambda value: value[None], observation))[0], observations)
    return jax.vmap(act)(keys, logits)

  return _Actors(one=jax.jit(one), team=jax.jit(team))


class PPOPolicy(policy.Policy[PolicyState]):
  """A trained follower for one player slot.

  Alone it steps as a Melting Pot policy; in a game, the policies of one
  network may share a `team` (`form_teams`), which the game loop steps in
  one call for all of them, with the same actions and states.
  """

  team: Optional["PPOTeam"] = None
  """The batch it acts in (`game.loop.BotTeam`); None: alone."""

  def __init__(self,
               follower: TrainedFollower,
               *,
               agent_id: int = 0,
               voter: Optional[bots.Voter] = None,
               num_objectives: int = 3,
               seed: int = 0,
               greedy: bool = False):
    """Initialises the policy.

    Args:
      follower: the trained network (see `load`).
      agent_id: the player index fed to the network, modulo the number of
        players it was trained with.
      voter: how to vote in the VOTE phase; None abstains.
      num_objectives: the objectives on the ballot.
      seed: seeds the action samples.
      greedy: take the most likely action instead of sampling.

    Raises:
      ValueError: a negative agent_id, or a voter that does not fit.
    """
    if agent_id < 0:
      raise ValueError(f"agent_id must be >= 0, got {agent_id}")
    self._follower = follower
    self._agent_id = agent_id % follower.num_players
    self._voter = voter if voter is not None else bots.Voter.abstain()
    self._voter.check(num_objectives)
    self._seed = int(seed)
    self._greedy = greedy
    self._actors = _actors(follower.networks.apply, greedy)

  @classmethod
  def from_checkpoint(cls, path: Union[str, os.PathLike],
                      **kwargs) -> "PPOPolicy":
    """`PPOPolicy(load(path), **kwargs)`."""
    return cls(load(path), **kwargs)

  def initial_state(self) -> PolicyState:
    """See base class."""
    return PolicyState()

  def step(self, timestep: dm_env.TimeStep,
           prev_state: PolicyState) -> tuple[int, PolicyState]:
    """See base class.

    Raises:
      ValueError: the observation has a different number of tax rates from
        the one the network was trained on.
    """
    action, state = self._step_without_network(timestep, prev_state)
    if action is not None:
      return action, state
    encoded = features.encode(timestep.observation, self._agent_id,
                              *self._encoding())
    batch = {name: value[None] for name, value in encoded.items()}
    row = self._actors.one(self._follower.params, batch, state.key)
    return _unpack(np.asarray(row)[None])[0]

  def close(self) -> None:
    """See base class."""

  def _encoding(self) -> tuple[str, Optional[features.Mechanism], bool]:
    """`features.encode`'s arguments after the agent id."""
    follower = self._follower
    return follower.observation, follower.mechanism, follower.observe_skill

  def _step_without_network(self, timestep: dm_env.TimeStep,
                            prev_state: PolicyState
                            ) -> tuple[Optional[int], PolicyState]:
    """The step's action and state where it needs no network (VOTE, the
    game over); else None and the state holding the key to sample with.

    Raises:
      ValueError: see `step`.
    """
    observation = timestep.observation
    key = prev_state.key
    if key is None:
      key = np.array([self._seed & 0xFFFFFFFF,
                      obs_lib.first_view_crc32(observation)], np.uint32)
    phase = int(round(float(observation["PHASE"])))
    if phase == phases.Phase.VOTE:
      action = bots.ballot_action(self._voter.ballot(), prev_state.vote_step)
      return action, PolicyState(key=key, vote_step=prev_state.vote_step + 1)
    if phase != phases.Phase.HARVEST:
      return obs_lib.NOOP, PolicyState(key=key)
    num_rates = len(observation["TAX_RATES"])
    if num_rates != self._follower.num_rates:
      raise ValueError(
          f"{self._follower.source} was trained with "
          f"{self._follower.num_rates} tax rates; this substrate has "
          f"{num_rates}")
    return None, PolicyState(key=key)


def _unpack(rows: np.ndarray) -> list[tuple[int, PolicyState]]:
  """Each player's (action, state) from the samplers' rows, brought to the
  host together (one transfer, not one per player and value)."""
  rows = np.asarray(rows)
  return [(action, PolicyState(key=row[1:]))
          for action, row in zip(rows[:, 0].tolist(), rows)]


class PPOTeam:
  """The policies of one network in a game, stepped in one jitted call
  (`game.loop.BotTeam`): each player samples with its own key, as its
  `PPOPolicy.step` would, to the bit."""

  def __init__(self, follower: TrainedFollower, greedy: bool = False):
    """Initialises the team.

    Args:
      follower: the network its members share.
      greedy: whether its members take the most likely action.
    """
    self._follower = follower
    self._team = _actors(follower.networks.apply, greedy).team

  def step_all(self, members: Sequence[PPOPolicy],
               timesteps: Sequence[dm_env.TimeStep],
               states: Sequence[PolicyState]
               ) -> tuple[list[int], list[PolicyState]]:
    """Steps `members`, each on its player's timestep and state.

    Returns:
      Their actions and next states, as each one's `step` gives them.

    Raises:
      ValueError: see `PPOPolicy.step`.
    """
    # pylint: disable=protected-access
    results = [member._step_without_network(timestep, state)
               for member, timestep, state in zip(members, timesteps, states)]
    acting = [i for i, (action, _) in enumerate(results) if action is None]
    if acting:
      encoded = features.encode_players(
          [timesteps[i].observation for i in acting],
          *members[0]._encoding(),
          agent_ids=[members[i]._agent_id for i in acting])
      keys = np.stack([results[i][1].key for i in acting])
      sampled = _unpack(self._team(self._follower.params, encoded, keys))
      for i, result in zip(acting, sampled):
        results[i] = result
    actions, next_states = zip(*results)
    return list(actions), list(next_states)


def form_teams(policies: Sequence[Any]) -> None:
  """Puts the `PPOPolicy`s of `policies` that share a network (and
  greediness) in one `PPOTeam` each; other policies are left alone."""
  # pylint: disable=protected-access
  teams: dict[tuple[int, bool], PPOTeam] = {}
  for bot in policies:
    if isinstance(bot, PPOPolicy):
      key = (id(bot._follower), bot._greedy)
      if key not in teams:
        teams[key] = PPOTeam(bot._follower, bot._greedy)
      bot.team = teams[key]
