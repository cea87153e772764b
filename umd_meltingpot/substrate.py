"""The UMD substrates, mirroring `meltingpot.substrate`.

  from umd_meltingpot import substrate
  env = substrate.build('umd_apple_harvest__small', roles=['default'] * 4)

Everything returned is a real Melting Pot `Substrate`, built through Melting
Pot's builder and wrappers. `env_seed` is our one extension: the same seed
gives the same game (Melting Pot's `build` always picks a random seed).

Other tools can discover these substrates through the `umd_meltingpot.
substrates` entry-point group.
"""

import contextlib
import copy
import itertools
import random
from typing import Any, Callable, Collection, Optional, Sequence

import dm_env
import dmlab2d
from dmlab2d import runfiles_helper
from meltingpot.utils.substrates import builder
from meltingpot.utils.substrates import substrate as substrate_lib
from meltingpot.utils.substrates import substrate_factory
from meltingpot.utils.substrates.wrappers import base as base_wrapper
from meltingpot.utils.substrates.wrappers import collective_reward_wrapper
from meltingpot.utils.substrates.wrappers import discrete_action_wrapper
from meltingpot.utils.substrates.wrappers import multiplayer_wrapper
from meltingpot.utils.substrates.wrappers import observables_wrapper
from meltingpot.utils.substrates.wrappers import reset_wrapper
from ml_collections import config_dict
import numpy as np

from umd_meltingpot.plumbing import validation
from umd_meltingpot.substrates import umd_apple_harvest
from umd_meltingpot.substrates import variants

Substrate = substrate_lib.Substrate
_PACKED = "WORLD.MECHANISM"
# Melting Pot's builder: the seeds of successive episodes wrap around here.
_MAX_SEED = 2**32 - 1
# The players' skills until the episode ends (comma-separated; `write_skills`).
SKILLS_PROPERTY = "economy.skills"

_VARIANT_MAPS = variants.VARIANT_MAPS
SUBSTRATES = frozenset(_VARIANT_MAPS)
SubstrateInfo = variants.SubstrateInfo
# The player count and phase lengths, without building a config.
describe = variants.describe


def _validated_builder(config, roles):
  """Melting Pot's role check, naming the valid roles."""
  invalid = sorted(set(roles) - set(config.valid_roles))
  if invalid:
    raise ValueError(f"Invalid roles {invalid}; valid roles are "
                     f"{sorted(config.valid_roles)}")
  return umd_apple_harvest.build(roles=roles, config=config)


def get_config(substrate: str,
               num_players: Optional[int] = None) -> config_dict.ConfigDict:
  """Returns the locked config of `substrate`; override fields before building.

  Args:
    substrate: the name of the substrate. Must be in SUBSTRATES.
    num_players: the number of players its per-player fields (a variant's
      `skills`) and default roles are for; default: the substrate's.

  Raises:
    ValueError: the substrate is not in SUBSTRATES, or `num_players` is
      outside [2, 16].
  """
  if substrate not in SUBSTRATES:
    raise ValueError(
        f"Unknown substrate {substrate!r}; valid: {sorted(SUBSTRATES)}")
  config = umd_apple_harvest.get_config(_VARIANT_MAPS[substrate])
  if num_players is None:
    num_players = len(config.default_player_roles)
  umd_apple_harvest.check_num_players(num_players)
  with config.unlocked():
    for field, value in variants.overrides(substrate, num_players).items():
      config[field] = value
    config.default_player_roles = ("default",) * num_players
  config = umd_apple_harvest.with_num_players(config, num_players)
  with config.unlocked():
    config.lab2d_settings_builder = _validated_builder
  return config.lock()


def build(name: str,
          *,
          roles: Sequence[str],
          env_seed: Optional[int] = None) -> Substrate:
  """Builds substrate `name` for `roles`.

  Args:
    name: the name of the substrate. Must be in SUBSTRATES.
    roles: the role of each player, from the config's `valid_roles`; their
      number is the number of players (2 to 16).
    env_seed: the seed of the first episode (later resets use seed + 1, ...);
      None picks one at random.

  Raises:
    ValueError: unknown name or role, or a player count out of range.
  """
  return build_from_config(get_config(name, num_players=len(roles)),
                           roles=roles, env_seed=env_seed)


def write_skills(env: Any, skills: Sequence[float]) -> None:
  """Gives the players of the running episode `skills` (one number > 0 per
  player) until it ends; Melting Pot's reset restores the config's.

  Raises:
    ValueError: the level refused them (the reason is in the message); the
      skills in force are unchanged.
  """
  env.write_property(SKILLS_PROPERTY,
                     ",".join(repr(float(skill)) for skill in skills))


def check_env_seed(env_seed: object) -> Optional[int]:
  """Returns `env_seed` (None, or an integer >= 0) as an int or None.

  Raises:
    ValueError: anything else, naming env_seed (Lab2D's own TypeError
      would not).
  """
  return validation.check_value(
      "env_seed", validation.optional(validation.integer(ge=0)), env_seed)


def build_from_config(config: config_dict.ConfigDict,
                      *,
                      roles: Sequence[str],
                      env_seed: Optional[int] = None) -> Substrate:
  """Builds a substrate from `config` (e.g. one with overridden fields).

  Args:
    config: a config from `get_config`, possibly with mechanism overrides.
    roles: the role of each player; their number is the number of players.
    env_seed: as in `build`.

  Raises:
    ValueError: a bad config field, role, player count or `env_seed`.
  """
  env_seed = check_env_seed(env_seed)
  config = umd_apple_harvest.with_num_players(config, len(roles))
  lab2d_settings = config.lab2d_settings_builder(config, roles)
  return build_substrate(
      lab2d_settings=lab2d_settings,
      config=config,
      individual_observations=config.individual_observation_names,
      global_observations=config.global_observation_names,
      action_table=config.action_set,
      env_seed=env_seed)


def voting_tally(ranks: np.ndarray) -> np.ndarray:
  """The positional tally of ranked ballots: the `VOTING` observation.

  Args:
    ranks: `WORLD.BALLOTS`, shape (n, K): each player's rank position of
      each objective (1 = top, 0 = unranked).

  Returns:
    A (K, K) array whose [k, r] entry counts the players who rank objective
    k at position r + 1. Column 0 is the first preferences (plurality), a
    row's sum the players who rank k at all (approval, see `voting`), and
    positional weights over a row give Borda's points.
  """
  ranks = np.asarray(ranks)
  positions = np.arange(1, ranks.shape[1] + 1)
  return (ranks[:, :, None] == positions).sum(axis=0).astype(np.float64)


# Each view of `umd_apple_harvest.MechanismField.own`: the global
# observation and the number of players -> what each player sees.
_VIEWS = {
    umd_apple_harvest.WHOLE: lambda world, n: (world,) * n,
    # Entry i of the array, as indexing gives it (no copy of the array).
    umd_apple_harvest.ENTRY: lambda world, n: world,
    umd_apple_harvest.TALLY: lambda world, n: (voting_tally(world),) * n,
}


class MechanismWrapper(base_wrapper.Lab2dWrapper):
  """The raw Lab2D environment of a UMD level, made friendlier.

  Unpacks Lua's `WORLD.MECHANISM` into the named observations of
  `umd_apple_harvest.MECHANISM_FIELDS`: the global `WORLD.ROUND`,
  `WORLD.PHASE`, `WORLD.TAX_RATES`, `WORLD.BALLOTS`, ... and, for each
  player i, their views `<i>.PHASE`, `<i>.TAX_RATES`, `<i>.PERIOD_INCOME`,
  `<i>.MARGINAL_RATE`, `<i>.SKILL` (its own entries of the `WORLD.` ones) and
  `<i>.VOTING` (the tally of the ranked ballots, `voting_tally`), so that
  Melting Pot's multiplayer wrapper finds them as if Lua had emitted each.

  Explains refused property writes: Lab2D only says "invalid argument", so
  the error carries the level's own reason (`principal.lastError`) or the
  valid keys.
  """

  def __init__(self, env, config: config_dict.ConfigDict, num_players: int):
    super().__init__(env)
    self._layout = umd_apple_harvest.mechanism_layout(config, num_players)
    self._own = umd_apple_harvest.own_observations(config, num_players)
    self._num_players = num_players
    self._num_brackets = self._layout["WORLD.TAX_RATES"][2][0]
    # What `_unpack` does at every step, worked out once.
    self._slices = [(name, slice(start, stop), shape)
                    for name, (start, stop, shape) in self._layout.items()]
    self._views = [
        (world, _VIEWS[view],
         [f"{player}.{own}" for player in range(1, num_players + 1)])
        for own, (world, view, _) in self._own.items()]

  def write_property(self, key: str, value: str) -> None:
    """See base class; raises with the reason when the level refuses."""
    try:
      super().write_property(key, value)
    except KeyError:
      valid = [f"principal.rates.{k}"
               for k in range(1, self._num_brackets + 1)]
      raise KeyError(f"No writable property {key!r}; valid: "
                     f"{valid + ['principal.schedule', SKILLS_PROPERTY]}"
                     ) from None
    except ValueError:
      reason = super().read_property("principal.lastError")
      raise ValueError(f"{key} = {value!r} refused: {reason}") from None

  def _unpack(self, observation):
    observation = dict(observation)
    packed = np.array(observation.pop(_PACKED), dtype=np.float64)
    for name, where, shape in self._slices:
      observation[name] = packed[where].reshape(shape)
    for world, view, names in self._views:
      observation.update(zip(names, view(observation[world],
                                         self._num_players)))
    return observation

  def reset(self, *args, **kwargs):
    """See base class."""
    timestep = super().reset(*args, **kwargs)
    return timestep._replace(observation=self._unpack(timestep.observation))

  def step(self, *args, **kwargs):
    """See base class."""
    timestep = super().step(*args, **kwargs)
    return timestep._replace(observation=self._unpack(timestep.observation))

  def observation(self, *args, **kwargs):
    """See base class."""
    return self._unpack(super().observation(*args, **kwargs))

  def observation_spec(self, *args, **kwargs):
    """See base class."""
    spec = dict(super().observation_spec(*args, **kwargs))
    del spec[_PACKED]
    for name, (_, _, shape) in self._layout.items():
      spec[name] = dm_env.specs.Array(shape, np.float64, name=name)
    for own, (_, _, shape) in self._own.items():
      for player in range(1, self._num_players + 1):
        spec[f"{player}.{own}"] = dm_env.specs.Array(shape, np.float64,
                                                     name=own)
    return spec


def lab2d_observation_names(config: config_dict.ConfigDict,
                            num_players: int,
                            declared: Sequence[str],
                            observations: Collection[str] = ()) -> list[str]:
  """The observations of the level that the wrappers read, in its order.

  Lab2D computes an observation only when asked for it, and
  `dmlab2d.Environment` asks for each of its names at every step, so it is
  given only these: each player's `individual_observation_names` and
  `REWARD` (Melting Pot's rewards), the `global_observation_names` and
  `WORLD.MECHANISM` (which `MechanismWrapper` unpacks into the rest). A
  config without `RGB` or `WORLD.RGB` renders no pixels.

  Args:
    config: the substrate config.
    num_players: the number of players.
    declared: the observation names the level declares.
    observations: more individual (per-player suffix) or global names to
      compute, e.g. the views a person plays from.
  """
  wanted = {_PACKED, *config.global_observation_names, *observations}
  for suffix in (*config.individual_observation_names, "REWARD",
                 *observations):
    wanted.update(f"{player}.{suffix}" for player in range(1, num_players + 1))
  return [name for name in declared if name in wanted]


class _Lab2dEnvironment(dmlab2d.Environment):
  """`dmlab2d.Environment`, reading a flat dict of discrete actions directly.

  The base class walks the whole action spec for every step's actions;
  Melting Pot's multiplayer wrapper always hands it a flat dict of
  `<i>.<action>` integers, so those go straight to their slots. Any other
  action goes the base class's way.
  """

  def _read_action(self, spec, action):
    if spec is not self._action_spec or not isinstance(action, dict):
      super()._read_action(spec, action)
      return
    slots = self._act_discrete_map
    others = {}
    for name, value in action.items():
      slot = slots.get(name)
      if slot is None:
        others[name] = value
      else:
        self._act_discrete[slot] = value
    if others:
      super()._read_action(spec, others)


def _lab2d_builder(
    lab2d_settings: builder.Settings, env_seed: Optional[int],
    observation_names: Callable[[Sequence[str]], Sequence[str]]
) -> Callable[[], dmlab2d.Environment]:
  """Melting Pot's `builder.builder`, asking Lab2D only for some observations.

  Each call builds the level for the next episode, seeded as Melting Pot
  seeds it (episode j: `env_seed + j`, the Lua VM's seed and the start seed
  that the environment draws from it).

  Why a new Lua VM per episode (Melting Pot's `ResetWrapper`), not a new
  episode in the same one: a level's first episode after it is built does
  not spawn the avatars where a later `start` in the same VM with the same
  seed does (Lab2D's grid, rebuilt by `start`, hands its spawn points to the
  shuffle in another order), so seeded games would change.

  Args:
    lab2d_settings: Melting Pot's settings of the level.
    env_seed: the seed of the first episode; None picks one at random.
    observation_names: the names to compute, given those the level declares.
  """
  settings = config_dict.ConfigDict(copy.deepcopy(lab2d_settings)).unlock()
  builder.apply_prefab_overrides(settings)
  builder.maybe_build_and_add_avatar_objects(settings)
  builder.locate_and_overwrite_level_directory(settings)
  settings = builder.parse_python_settings_for_dmlab2d(settings)
  if env_seed is None:
    env_seed = random.randint(1, _MAX_SEED)
  seeds = (seed % (_MAX_SEED + 1) for seed in itertools.count(env_seed))

  def build() -> dmlab2d.Environment:
    seed = next(seeds)
    settings["env_seed"] = str(seed)  # The Lua VM's seed.
    lab2d = dmlab2d.Lab2d(runfiles_helper.find(), settings)
    return _Lab2dEnvironment(
        lab2d, list(observation_names(lab2d.observation_names())), seed=seed)

  return build


def build_environment(lab2d_settings: builder.Settings,
                      config: config_dict.ConfigDict,
                      env_seed: Optional[int] = None,
                      observations: Collection[str] = (),
                      **unused_settings):
  """The raw multi-player Lab2D environment with the mechanism observations
  unpacked; what the substrate and human play run.

  Melting Pot's builder, computing only the observations the config names
  (`lab2d_observation_names`).

  Args:
    lab2d_settings: Melting Pot's settings of the level.
    config: the substrate config.
    env_seed: as in `build`.
    observations: more individual or global names to compute, e.g. the
      `RGB` and `WORLD.RGB` a person plays from.
  """
  num_players = lab2d_settings["numPlayers"]
  env = reset_wrapper.ResetWrapper(_lab2d_builder(
      lab2d_settings, env_seed,
      lambda declared: lab2d_observation_names(config, num_players, declared,
                                               observations)))
  return MechanismWrapper(env, config, num_players)


class _MultiplayerWrapper(multiplayer_wrapper.Wrapper):
  """Melting Pot's multiplayer wrapper, with the lookups worked out once.

  A UMD substrate has many global observations (every mechanism field), so
  each step's players share one dict of them, and each player's own keys
  (`<i>.<suffix>`) are made once, not at every step.
  """

  def __init__(self, env, individual_observation_names: Collection[str],
               global_observation_names: Collection[str]):
    super().__init__(
        env, individual_observation_names=individual_observation_names,
        global_observation_names=global_observation_names)
    suffixes = set(individual_observation_names)
    self._player_keys = [
        [(f"{player}.{suffix}", suffix) for suffix in suffixes]
        for player in range(1, len(self.action_spec()) + 1)]
    self._global_names = set(global_observation_names)

  def _get_observations(self, source):
    if isinstance(next(iter(source.values()), None), dm_env.specs.Array):
      return super()._get_observations(source)  # Specs, renamed there.
    shared = {name: source[name] for name in self._global_names}
    observations = []
    for keys in self._player_keys:
      observation = {suffix: source[key] for key, suffix in keys
                     if key in source}
      observation.update(shared)
      observations.append(observation)
    return observations


def build_substrate(*,
                    lab2d_settings: builder.Settings,
                    config: config_dict.ConfigDict,
                    individual_observations: Collection[str],
                    global_observations: Collection[str],
                    action_table,
                    env_seed: Optional[int] = None) -> Substrate:
  """Melting Pot's `build_substrate` wrapper stack, with a seed."""
  env = build_environment(lab2d_settings, config, env_seed)
  try:
    env = observables_wrapper.ObservablesWrapper(env)
    env = _MultiplayerWrapper(
        env,
        individual_observation_names=individual_observations,
        global_observation_names=global_observations)
    env = discrete_action_wrapper.Wrapper(env, action_table=action_table)
    env = collective_reward_wrapper.CollectiveRewardWrapper(env)
    return Substrate(env)
  except Exception:
    with contextlib.suppress(Exception):
      env.close()
    raise


class SubstrateFactory(substrate_factory.SubstrateFactory):
  """Melting Pot's `SubstrateFactory` for a UMD substrate config.

  Its specs are for a fixed number of players. `build` goes through
  `build_from_config`, so it can seed the substrate (Melting Pot's factories
  cannot) and optionally transform it (e.g. add the principal wrapper, which
  adds no observation, so the specs still hold).
  """

  def __init__(self,
               config: config_dict.ConfigDict,
               *,
               num_players: Optional[int] = None,
               env_seed: Optional[int] = None,
               transform: Optional[Callable[[Substrate], Substrate]] = None):
    """Initialises the factory.

    Args:
      config: a substrate config (e.g. from `get_config`).
      num_players: the number of players its specs are for; default: the
        number of `default_player_roles`.
      env_seed: the seed of every substrate built; None picks one at random.
      transform: applied to every substrate built.

    Raises:
      ValueError: a bad config field, player count or `env_seed`.
    """
    env_seed = check_env_seed(env_seed)
    if num_players is None:
      num_players = len(config.default_player_roles)
    config = umd_apple_harvest.with_num_players(config, num_players)
    super().__init__(
        lab2d_settings_builder=(
            lambda roles: config.lab2d_settings_builder(config, roles)),
        individual_observations=config.individual_observation_names,
        global_observations=config.global_observation_names,
        action_table=config.action_set,
        timestep_spec=config.timestep_spec,
        action_spec=config.action_spec,
        valid_roles=config.valid_roles,
        default_player_roles=config.default_player_roles)
    self._config = config
    self._num_players = num_players
    self._env_seed = env_seed
    self._transform = transform

  def build(self, roles: Sequence[str]) -> Substrate:
    """Builds the substrate for `roles` (as many as the specs are for).

    Raises:
      ValueError: a role the substrate does not support, or a number of
        roles other than the factory's number of players.
    """
    if len(roles) != self._num_players:
      raise ValueError(f"This factory builds {self._num_players} players, "
                       f"got {len(roles)} roles")
    substrate = build_from_config(self._config, roles=roles,
                                  env_seed=self._env_seed)
    if self._transform is None:
      return substrate
    try:
      return self._transform(substrate)
    except Exception:
      substrate.close()
      raise


def get_factory(name: str) -> SubstrateFactory:
  """Returns a Melting Pot SubstrateFactory for `name` (default players)."""
  return get_factory_from_config(get_config(name))


def get_factory_from_config(
    config: config_dict.ConfigDict,
    num_players: Optional[int] = None) -> SubstrateFactory:
  """Returns a Melting Pot SubstrateFactory for `config`.

  Args:
    config: a substrate config.
    num_players: the number of players its specs are for; default: the
      number of `default_player_roles`.
  """
  return SubstrateFactory(config, num_players=num_players)

