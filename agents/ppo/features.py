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

from typing import Mapping

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
  phase = int(round(float(observation["PHASE"])))
  vector = np.zeros(vector_size(len(observation["TAX_RATES"])), np.float32)
  vector[0] = float(observation["READY_TO_SHOOT"])
  vector[1 + min(max(phase, 0), NUM_PHASES - 1)] = 1.0
  vector[1 + NUM_PHASES:] = observation["TAX_RATES"]
  encoded = {"vector": vector, "agent_id": np.int32(agent_id)}
  if kind == "symbolic":
    encoded["grid"] = obs_lib.parse_cells(observation["RGB"])
  else:
    encoded["rgb"] = np.asarray(observation["RGB"], dtype=np.uint8)
  return encoded


def stack(observations: list[Observation]) -> Observation:
  """Stacks observations along a new leading axis."""
  return {key: np.stack([o[key] for o in observations])
          for key in observations[0]}

