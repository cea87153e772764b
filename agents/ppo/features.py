"""The followers' observation: the network inputs built from one player's view.

NumPy only (no JAX), so the rollout workers can build it next to the
substrate and send a few hundred bytes per player instead of the 88x88 RGB.

An `Observation` is a dict of arrays with any leading batch shape:

*   `grid` (symbolic): int8 (11, 11), the cell classes of
    `agents.observation.cells` (empty, apple, wall, avatar): the level's
    `GRID` when the observation has it, else the `RGB` view parsed (the
    same grid), which the network one-hot encodes; or `rgb` (rgb): uint8
    (88, 88, 3), the view;
*   `vector`: float32 (4 + k,): READY_TO_SHOOT, the PHASE one-hot (vote,
    harvest, over) and the k TAX_RATES. A follower conditioned on the
    mechanism (`PPOConfig.condition_on_mechanism`, given a `Mechanism`)
    sees instead the rates divided by max_rate, then its bracket position:
    its MARGINAL_RATE / max_rate and its PERIOD_INCOME over each of the
    k - 1 bracket edges (clipped at `INCOME_CLIP`), 4 + 2k in all. A
    follower that observes its skill (`PPOConfig.observe_skill`) has its
    SKILL (the value of its apple, 1.0 in an equal economy) appended last;
*   `agent_id`: int32 (), the player index, the parameter-shared network's
    agent-id input (IPPO/MAPPO style).
"""

from typing import Iterable, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.substrates import phases

Observation = dict[str, np.ndarray]

NUM_CELL_CLASSES = 4  # empty, apple, wall, avatar (obs_lib.Cell).
NUM_PHASES = len(phases.Phase)
VIEW_SHAPE = obs_lib.VIEW_SHAPE
RGB_SHAPE = (VIEW_SHAPE[0] * obs_lib.CELL_SIZE,
             VIEW_SHAPE[1] * obs_lib.CELL_SIZE, 3)


# The player view (the substrate config's `player_views`) each kind of
# observation is encoded from.
VIEWS = {"symbolic": ("GRID",), "rgb": ("RGB",)}

# Income beyond twice an edge reads as twice it: far past the edge, the
# marginal rate already says all.
INCOME_CLIP = 2.0


class Mechanism(NamedTuple):
  """What a conditioned follower needs to read its bracket position: the
  game's cap on rates and its k - 1 bracket edges."""
  max_rate: float
  edges: tuple[float, ...]

  @classmethod
  def of(cls, substrate_config) -> "Mechanism":
    """The mechanism of a substrate config (or its JSON summary)."""
    return cls(float(substrate_config["max_rate"]),
               tuple(float(e) for e in substrate_config["bracket_edges"]))


def vector_size(num_rates: int, conditioned: bool = False,
                skill: bool = False) -> int:
  """Length of the `vector` input for k = `num_rates` tax rates, with the
  bracket position when `conditioned` and the player's SKILL (last) when
  `skill`."""
  return (1 + NUM_PHASES + num_rates + (num_rates if conditioned else 0)
          + (1 if skill else 0))


def encode(observation: Mapping[str, np.ndarray], agent_id: int,
           kind: str, mechanism: Optional[Mechanism] = None,
           skill: bool = False) -> Observation:
  """One player's network input.

  Args:
    observation: the player's substrate observation (`GRID` or `RGB`,
      `READY_TO_SHOOT`, `PHASE`, `TAX_RATES`; `MARGINAL_RATE` and
      `PERIOD_INCOME` with a mechanism; `SKILL` with `skill`).
    agent_id: the player index.
    kind: "symbolic" or "rgb" (see `PPOConfig.observation`).
    mechanism: the game's cap and edges, for a follower conditioned on the
      mechanism; None: the plain rates.
    skill: append the player's SKILL to the vector (a follower that
      observes its skill); False ignores SKILL.

  Returns:
    An `Observation` with no batch dimension.
  """
  encoded = _encode([observation], [agent_id], kind, mechanism, skill)
  return {key: value[0] for key, value in encoded.items()}


def encode_players(observations: Sequence[Mapping[str, np.ndarray]],
                   kind: str, mechanism: Optional[Mechanism] = None,
                   skill: bool = False,
                   agent_ids: Optional[Sequence[int]] = None) -> Observation:
  """Several players' network inputs from one timestep.

  Args:
    observations: the players' substrate observations.
    kind: "symbolic" or "rgb".
    mechanism: see `encode`.
    skill: see `encode`.
    agent_ids: each observation's player index; None: 0, 1, ... (every
      player of the timestep, in player order).

  Returns:
    An `Observation` with a leading player axis; the same as stacking
    `encode` of each, in one call.
  """
  if agent_ids is None:
    agent_ids = range(len(observations))
  return _encode(observations, agent_ids, kind, mechanism, skill)


def _encode(observations: Sequence[Mapping[str, np.ndarray]],
            agent_ids: Iterable[int], kind: str,
            mechanism: Optional[Mechanism],
            skill: bool = False) -> Observation:
  """`encode` over a batch of players (a leading axis on every key)."""
  phase = np.array([float(o["PHASE"]) for o in observations]).round()
  phase = np.clip(phase.astype(np.int64), 0, NUM_PHASES - 1)
  rates = np.array([o["TAX_RATES"] for o in observations], np.float32)
  num_rates = rates.shape[1]
  vector = np.zeros((len(observations),
                     vector_size(num_rates, mechanism is not None, skill)),
                    np.float32)
  vector[:, 0] = [float(o["READY_TO_SHOOT"]) for o in observations]
  vector[np.arange(len(observations)), 1 + phase] = 1.0
  tax_end = vector.shape[1] - (1 if skill else 0)
  if mechanism is None:
    vector[:, 1 + NUM_PHASES:tax_end] = rates
  else:
    vector[:, 1 + NUM_PHASES:tax_end] = _position(observations, rates,
                                                  mechanism)
  if skill:
    vector[:, -1] = [float(o["SKILL"]) for o in observations]
  encoded = {"vector": vector,
             "agent_id": np.fromiter(agent_ids, np.int32,
                                     len(observations))}
  if kind == "symbolic":
    encoded["grid"] = obs_lib.cells_of(observations)
  else:
    encoded["rgb"] = np.array([o["RGB"] for o in observations], np.uint8)
  return encoded


def _position(observations: Sequence[Mapping[str, np.ndarray]],
              rates: np.ndarray, mechanism: Mechanism) -> np.ndarray:
  """The conditioned part of `vector`: rates and marginal rate over the cap,
  then the income over each edge (players on rows)."""
  if len(mechanism.edges) != rates.shape[1] - 1:
    raise ValueError(f"the mechanism has {len(mechanism.edges)} bracket "
                     f"edges; the observation has {rates.shape[1]} rates")
  marginal = np.array([[float(o["MARGINAL_RATE"])] for o in observations],
                      np.float32)
  income = np.array([float(o["PERIOD_INCOME"]) for o in observations],
                    np.float32)
  over_edges = np.minimum(
      income[:, None] / np.asarray(mechanism.edges, np.float32), INCOME_CLIP)
  return np.concatenate(
      [rates / mechanism.max_rate, marginal / mechanism.max_rate,
       over_edges], axis=1)


def stack(observations: list[Observation]) -> Observation:
  """Stacks observations along a new leading axis."""
  return {key: np.stack([o[key] for o in observations])
          for key in observations[0]}

