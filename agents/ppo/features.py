"""The followers' observation: the network inputs built from one player's view.

NumPy only (no JAX), so the rollout workers can build it next to the
substrate and send a few hundred bytes per player instead of the 88x88 RGB.

An `Observation` is a dict of arrays with any leading batch shape:

*   `grid` (symbolic): int8 (11, 11), the cell classes of
    `agents.observation.parse_cells` (empty, apple, wall, avatar), which the
    network one-hot encodes; or `rgb` (rgb): uint8 (88, 88, 3), the view;
*   `vector`: float32 (4 + k,): READY_TO_SHOOT, the PHASE one-hot (vote,
    harvest, over) and the k TAX_RATES, so followers can respond to phi;
*   `agent_id`: int32 (), the player index, the parameter-shared network's
    agent-id input (IPPO/MAPPO style).
"""

from typing import Iterable, Mapping, Sequence

import numpy as np

from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.substrates import phases

Observation = dict[str, np.ndarray]

NUM_CELL_CLASSES = 4  # empty, apple, wall, avatar (obs_lib.Cell).
NUM_PHASES = len(phases.Phase)
VIEW_SHAPE = obs_lib.VIEW_SHAPE
RGB_SHAPE = (VIEW_SHAPE[0] * obs_lib.CELL_SIZE,
             VIEW_SHAPE[1] * obs_lib.CELL_SIZE, 3)


def vector_size(num_rates: int) -> int:
  """Length of the `vector` input for k = `num_rates` tax rates."""
  return 1 + NUM_PHASES + num_rates


def encode(observation: Mapping[str, np.ndarray], agent_id: int,
           kind: str) -> Observation:
  """One player's network input.

  Args:
    observation: the player's substrate observation (`RGB`,
      `READY_TO_SHOOT`, `PHASE`, `TAX_RATES`).
    agent_id: the player index.
    kind: "symbolic" or "rgb" (see `PPOConfig.observation`).

  Returns:
    An `Observation` with no batch dimension.
  """
  encoded = _encode([observation], [agent_id], kind)
  return {key: value[0] for key, value in encoded.items()}


def encode_players(observations: Sequence[Mapping[str, np.ndarray]],
                   kind: str) -> Observation:
  """Every player's network input from one timestep, player i's with agent
  id i.

  Args:
    observations: the players' substrate observations, in player order.
    kind: "symbolic" or "rgb".

  Returns:
    An `Observation` with a leading player axis; the same as stacking
    `encode` of each, in one view-parsing call.
  """
  return _encode(observations, range(len(observations)), kind)


def _encode(observations: Sequence[Mapping[str, np.ndarray]],
            agent_ids: Iterable[int], kind: str) -> Observation:
  """`encode` over a batch of players (a leading axis on every key)."""
  phase = np.array([float(o["PHASE"]) for o in observations]).round()
  phase = np.clip(phase.astype(np.int64), 0, NUM_PHASES - 1)
  rates = np.array([o["TAX_RATES"] for o in observations], np.float32)
  vector = np.zeros((len(observations), vector_size(rates.shape[1])),
                    np.float32)
  vector[:, 0] = [float(o["READY_TO_SHOOT"]) for o in observations]
  vector[np.arange(len(observations)), 1 + phase] = 1.0
  vector[:, 1 + NUM_PHASES:] = rates
  encoded = {"vector": vector,
             "agent_id": np.fromiter(agent_ids, np.int32,
                                     len(observations))}
  views = np.array([o["RGB"] for o in observations], np.uint8)
  if kind == "symbolic":
    encoded["grid"] = obs_lib.parse_cells(views)
  else:
    encoded["rgb"] = views
  return encoded


def stack(observations: list[Observation]) -> Observation:
  """Stacks observations along a new leading axis."""
  return {key: np.stack([o[key] for o in observations])
          for key in observations[0]}

