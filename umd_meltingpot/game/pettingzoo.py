"""The UMD game as a PettingZoo `ParallelEnv`, for the PettingZoo ecosystem.

  from umd_meltingpot.game import pettingzoo
  env = pettingzoo.parallel_env("umd_apple_harvest__small",
                                principal="hand_rule", rounds=2, seed=1)
  observations, infos = env.reset(seed=1)
  while env.agents:
    actions = {agent: env.action_space(agent).sample()
               for agent in env.agents}
    observations, rewards, terminations, truncations, infos = env.step(
        actions)
  env.close()

Every player is an agent (`player_0` ... `player_<n-1>`); there are no
bots. The substrate runs inside the principal wrapper, so the vote, the
principal and the tax happen at the round boundaries exactly as in
`umd run`. Each agent observes its individual observations, each in the
exact space of its values:

| key | space |
| --- | --- |
| `RGB` | Box(0, 255, (h, w, 3), uint8) |
| `READY_TO_SHOOT` | Box(0, 1, (), float64) |
| `PHASE` | Discrete(3): `substrates.phases.Phase` (0 vote, 1 harvest, 2 over) |
| `TAX_RATES` | Box(0, max_rate, (k,), float64) |
| `PERIOD_INCOME` | Box(0, inf, (), float64): own bracket income |
| `MARGINAL_RATE` | Box(0, max_rate, (), float64) |
| `SKILL` | Box(0, inf, (), float64): own apple value multiplier (1 unless `skills`) |
| `VOTING` | Box(0, n, (K, K), float64): players ranking objective k at r + 1 |
| `COLLECTIVE_REWARD` | Box(-inf, inf, (), float64): fines make it negative |

`state()` and `render()` give the global `WORLD.RGB`. The game ends after
tau rounds, for every agent at once: a termination, not a truncation.

At the step that ends a round, every agent's info holds that round's record
(`infos[agent]["round"]`, `RoundRecord.to_json()`: the ballots, the elected
objective, phi, the welfare metrics, ...); `env.records` keeps the records
of the game until the next reset, `close()` included.

`env(substrate_name, **options)` is the same game as a PettingZoo `AECEnv`
(agents act in turn), built by PettingZoo's own `parallel_to_aec`.
"""

import dataclasses
from typing import Any, Mapping, Optional

import dm_env
import gymnasium
import numpy as np
from pettingzoo.utils import conversions
from pettingzoo.utils import env as pz_env

from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.substrates import phases

# `GameConfig` fields that make no sense here: every player is an agent and
# nothing is written to disk.
_NOT_OPTIONS = ("substrate", "bots", "video", "out")
_NOOP = 0


def game_options() -> list[str]:
  """The keyword options `parallel_env` accepts (GameConfig fields)."""
  return [field.name for field in dataclasses.fields(game_lib.GameConfig)
          if field.name not in _NOT_OPTIONS]


def _space(spec: dm_env.specs.Array) -> gymnasium.spaces.Box:
  """The gymnasium Box of a dm_env array spec."""
  if isinstance(spec, dm_env.specs.BoundedArray):
    low, high = spec.minimum, spec.maximum
  elif np.issubdtype(spec.dtype, np.integer):
    info = np.iinfo(spec.dtype)
    low, high = info.min, info.max
  else:
    low, high = -np.inf, np.inf
  return gymnasium.spaces.Box(low=low, high=high, shape=spec.shape,
                              dtype=spec.dtype)


def _spaces(specs: Mapping[str, dm_env.specs.Array], max_rate: float,
            num_players: int) -> dict[str, gymnasium.Space]:
  """The exact space of each individual observation (see the table above);
  any other observation gets the Box of its spec."""
  def box(key: str, low: float, high: float) -> gymnasium.spaces.Box:
    spec = specs[key]
    return gymnasium.spaces.Box(low=low, high=high, shape=spec.shape,
                                dtype=spec.dtype)

  exact = {
      "READY_TO_SHOOT": lambda: box("READY_TO_SHOOT", 0.0, 1.0),
      "PHASE": lambda: gymnasium.spaces.Discrete(len(phases.Phase)),
      "TAX_RATES": lambda: box("TAX_RATES", 0.0, max_rate),
      "PERIOD_INCOME": lambda: box("PERIOD_INCOME", 0.0, np.inf),
      "MARGINAL_RATE": lambda: box("MARGINAL_RATE", 0.0, max_rate),
      "SKILL": lambda: box("SKILL", 0.0, np.inf),
      "VOTING": lambda: box("VOTING", 0.0, float(num_players)),
  }
  return {key: exact[key]() if key in exact else _space(spec)
          for key, spec in specs.items()}


def _individual(observation: Mapping[str, Any]) -> dict[str, Any]:
  return {key: value for key, value in observation.items()
          if not key.startswith("WORLD.")}


class ParallelEnv(pz_env.ParallelEnv):
  """A UMD game (one Lab2D episode of tau rounds) as a PettingZoo env."""

  metadata = {"name": "umd_apple_harvest", "render_modes": ["rgb_array"],
              "is_parallelizable": True}

  def __init__(self, config: game_lib.GameConfig,
               render_mode: Optional[str] = None) -> None:
    """Checks `config` and builds nothing yet.

    Raises:
      ValueError: a bad option or render mode, naming the valid values.
    """
    if render_mode not in (None, *self.metadata["render_modes"]):
      raise ValueError(f"render_mode must be None or one of "
                       f"{self.metadata['render_modes']}, got {render_mode!r}")
    self.render_mode = render_mode
    self._game = game_lib.prepare(config, game_lib.NO_BOTS)
    self._env = None
    self._timestep: Optional[dm_env.TimeStep] = None
    self._records: list[Any] = []
    substrate_config = self._game.substrate_config
    self.possible_agents = [
        f"player_{i}" for i in range(self._game.num_players)]
    self.agents = []
    specs = dict(substrate_config.timestep_spec.observation)
    specs["COLLECTIVE_REWARD"] = substrate_config.timestep_spec.reward.replace(
        name="COLLECTIVE_REWARD")
    self._observation_specs = _individual(specs)
    observation_space = gymnasium.spaces.Dict(_spaces(
        self._observation_specs, float(substrate_config.max_rate),
        self._game.num_players))
    action_space = gymnasium.spaces.Discrete(
        substrate_config.action_spec.num_values)
    # PettingZoo wants the same space object on every call.
    self.observation_spaces = {
        agent: observation_space for agent in self.possible_agents}
    self.action_spaces = {agent: action_space
                          for agent in self.possible_agents}

  def observation_space(self, agent: str) -> gymnasium.spaces.Dict:
    """See base class."""
    return self.observation_spaces[agent]

  def action_space(self, agent: str) -> gymnasium.spaces.Discrete:
    """See base class."""
    return self.action_spaces[agent]

  @property
  def records(self) -> list[Any]:
    """The principal wrapper's records of the rounds played since the last
    reset; kept after `close()`."""
    return list(self._records)

  def _observations(self) -> dict[str, dict[str, Any]]:
    observations = {}
    for agent, observation in zip(self.possible_agents,
                                  self._timestep.observation):
      observations[agent] = {
          key: np.asarray(observation[key], dtype=spec.dtype)
          for key, spec in self._observation_specs.items()}
      # Lua sends the phase code as a float; its space is Discrete.
      observations[agent]["PHASE"] = np.int64(
          round(float(observation["PHASE"])))
    return observations

  def reset(self, seed: Optional[int] = None,
            options: Optional[dict[str, Any]] = None):
    """Starts a new game; a `seed` rebuilds it with that seed.

    Without a seed the first reset uses the config's seed and later ones
    continue its seed sequence (as Melting Pot's substrates do).
    """
    del options  # No reset options.
    if seed is not None or self._env is None:
      if seed is not None:
        self._game = game_lib.prepare(
            dataclasses.replace(self._game.config, seed=int(seed)), game_lib.NO_BOTS)
      self.close()
      self._env = game_lib.build_environment(self._game)
    self._timestep = self._env.reset()
    self._records = []
    self.agents = list(self.possible_agents)
    return self._observations(), {agent: {} for agent in self.agents}

  def step(self, actions: Mapping[str, int]):
    """Steps every live agent; an agent without an action does NOOP."""
    if not self.agents:
      raise RuntimeError("The game is over; call reset()")
    unknown = sorted(set(actions) - set(self.agents))
    if unknown:
      raise ValueError(f"Actions for unknown or finished agents {unknown}; "
                       f"live agents: {self.agents}")
    self._timestep = self._env.step(
        [int(actions.get(agent, _NOOP)) for agent in self.possible_agents])
    over = self._timestep.last()
    agents = self.agents
    rewards = {agent: float(reward) for agent, reward in zip(
        self.possible_agents, self._timestep.reward)}
    observations = self._observations()
    terminations = {agent: over for agent in agents}
    truncations = {agent: False for agent in agents}
    finished = self._env.records[len(self._records):]
    self._records.extend(finished)
    # A step ends at most one round; its record goes to every agent.
    infos = {agent: ({"round": finished[-1].to_json()} if finished else {})
             for agent in agents}
    if over:
      self.agents = []
    return ({a: observations[a] for a in agents},
            {a: rewards[a] for a in agents}, terminations, truncations, infos)

  def state(self) -> np.ndarray:
    """The global view, `WORLD.RGB`."""
    if self._timestep is None:
      raise RuntimeError("Call reset() first")
    return np.asarray(self._timestep.observation[0]["WORLD.RGB"])

  def render(self) -> Optional[np.ndarray]:
    """`WORLD.RGB` in "rgb_array" mode; nothing without a render mode."""
    if self.render_mode is None or self._timestep is None:
      return None
    return self.state()

  def close(self) -> None:
    """See base class."""
    if self._env is not None:
      self._env.close()
      self._env = None


def parallel_env(substrate_name: str,
                 render_mode: Optional[str] = None,
                 **options: Any) -> ParallelEnv:
  """A PettingZoo `ParallelEnv` of substrate `substrate_name`.

  Args:
    substrate_name: a name from `umd list`.
    render_mode: None or "rgb_array".
    **options: game options, as `umd run`'s flags (`game.GameConfig`
      fields): players, rounds, steps, vote_steps, tax_period, brackets,
      phi0, delta, divergence, rule, preferences, principal, ballots,
      principal_weight, seed.

  Raises:
    ValueError: an unknown substrate or option, or a bad value, with the
      valid values in the message.
  """
  unknown = sorted(set(options) - set(game_options()))
  if unknown:
    raise ValueError(f"Unknown game options {unknown}; valid: "
                     f"{sorted(game_options())}")
  config = game_lib.GameConfig(substrate=substrate_name, **options)
  return ParallelEnv(config, render_mode=render_mode)


def env(substrate_name: str,
        render_mode: Optional[str] = None,
        **options: Any) -> pz_env.AECEnv:
  """The game of `parallel_env` as a PettingZoo `AECEnv`, through
  PettingZoo's own `parallel_to_aec`: agents act in turn, and the game
  steps once every live agent has acted.

  Raises:
    ValueError: as `parallel_env`.
  """
  return conversions.parallel_to_aec(
      parallel_env(substrate_name, render_mode=render_mode, **options))
