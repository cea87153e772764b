"""The followers' view of the game: HARVEST steps, batched over substrates.

`HarvestEnv` wraps one game (the substrate under the `PrincipalWrapper`,
built by `umd_meltingpot.game.loop` from a `GameConfig`) so that the learning
followers only see HARVEST steps:

*   In VOTE steps Lua ignores every action but the votes, so the followers'
    choices there carry no consequence and are *masked*: each player casts
    its truthful vote (`bots.Voter.truthful` of its type, as the heuristic
    bots do) and those steps never reach the learner. The world is paused
    while voting, so skipping the steps changes nothing the followers see.
*   The network picks among the 8 commons actions only.
*   At the end of an episode the env resets itself and returns the first
    HARVEST observation of the next one (an auto-resetting env).

`VectorEnv` runs several `HarvestEnv`s in worker processes, in Ray actors
(`ray_address`) or in this process, and presents them as one batch of
B = envs x players slots: a
`dm_env.TimeStep` whose fields are arrays over the slots. A slot's
`step_type` is LAST and its `discount` 0 when its episode ended on that step;
its observation is then already the next episode's first.
"""

import contextlib
import dataclasses
import functools
import multiprocessing
import signal
import sys
import traceback
from multiprocessing import connection
from typing import Any, Optional, Sequence

import dm_env
import numpy as np

from umd_meltingpot import agents

from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.agents import bots
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.plumbing import skill_draw as skill_draw_lib
from umd_meltingpot import substrate as substrate_lib
from umd_meltingpot.substrates import phases


@dataclasses.dataclass(frozen=True)
class Episode:
  """Statistics of one finished episode (one whole game).

  Attributes:
    returns: each player's return (the sum of its rewards).
    apples_alive: apples alive at the end of each round.
    steps: substrate steps taken, VOTE steps included.
  """
  returns: tuple[float, ...]
  apples_alive: tuple[float, ...]
  steps: int

  @property
  def per_capita_return(self) -> float:
    return float(np.mean(self.returns))


class HarvestEnv:
  """One game, stepped by the followers in its HARVEST phase only."""

  def __init__(self, config: game_lib.GameConfig, observation: str,
               condition: bool = False, observe_skill: bool = False,
               skill_draw: str = skill_draw_lib.FIXED):
    """Builds the game.

    Args:
      config: the game's options (its `bots` are ignored); the seed seeds
        the substrate, the types and the principal.
      observation: "symbolic" or "rgb" (see `features.encode`).
      condition: encode the bracket position too (a follower conditioned on
        the mechanism).
      observe_skill: encode each player's SKILL too.
      skill_draw: the players' skills in each game (`skill_draw_lib`),
        drawn from a generator seeded by the config's seed.

    Raises:
      ValueError: an invalid option.
    """
    prepared = game_lib.prepare(config, agents.FACTORY)
    self._principal = game_lib.build_principal(prepared)
    # Only the view the followers learn from: no pixels for symbolic ones.
    self._env = game_lib.build_environment(
        prepared, principal=self._principal,
        views=features.VIEWS[observation])
    self._observation = observation
    self._mechanism = (features.Mechanism.of(prepared.substrate_config)
                       if condition else None)
    self._observe_skill = observe_skill
    self._skill_draw = skill_draw_lib.parse(skill_draw)
    self._skills = tuple(prepared.substrate_config.skills)
    # A stream of its own (22: the issue), apart from the game's seed uses.
    self._skill_rng = np.random.default_rng([config.seed, 22])
    self.num_players = prepared.num_players
    self._ballots = [
        bots.Voter.truthful(prepared.preferences.players[i],
                            prepared.mechanism.rule).ballot()
        for i in range(self.num_players)]
    self._returns = np.zeros(self.num_players)
    self._steps = 0  # Substrate steps in this game.
    self._unreported = 0  # Substrate steps not yet reported.

  def reset(self) -> features.Observation:
    """Starts a new game; returns its first HARVEST observations."""
    timestep = self._env.reset()
    if self._skill_draw.kind != skill_draw_lib.FIXED:
      timestep = self._draw_skills(timestep)
    self._returns[:] = 0.0
    self._steps = 0
    timestep, _ = self._skip_votes(timestep)
    return self._encode(timestep)

  def pop_steps(self) -> int:
    """Substrate steps taken since the last call (VOTE steps included)."""
    steps, self._unreported = self._unreported, 0
    return steps

  def step(self, actions: Sequence[int]
           ) -> tuple[features.Observation, np.ndarray, bool,
                      Optional[Episode]]:
    """One HARVEST step for every player, then any VOTE steps that follow.

    Args:
      actions: one commons action per player.

    Returns:
      (observations, rewards, done, the finished episode or None). When
      done, the observations are the next game's.
    """
    timestep, rewards = self._substrate_step(actions)
    timestep, vote_rewards = self._skip_votes(timestep)
    rewards += vote_rewards
    if not timestep.last():
      return self._encode(timestep), rewards, False, None
    episode = Episode(
        returns=tuple(float(r) for r in self._returns),
        apples_alive=tuple(r.apples_alive for r in self._env.records),
        steps=self._steps)
    return self.reset(), rewards, True, episode

  def _draw_skills(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    """Gives the new game drawn skills (Melting Pot rebuilds the level at
    every reset, so the write lasts this game); the first timestep with its
    observations read again, so that they show the drawn SKILL."""
    skills = skill_draw_lib.draw(self._skill_draw, self._skills,
                                 self.num_players, self._skill_rng)
    substrate_lib.write_skills(self._env, skills)
    return timestep._replace(observation=self._env.observation())

  def set_tax_cap(self, cap: float) -> None:
    """Caps the rates a principal that takes a cap (`random`) proposes from
    the next round on (the training curriculum)."""
    if hasattr(self._principal, "set_cap"):
      self._principal.set_cap(cap)

  def close(self) -> None:
    self._env.close()

  def _substrate_step(self, actions: Sequence[int]
                      ) -> tuple[dm_env.TimeStep, np.ndarray]:
    timestep = self._env.step([int(a) for a in actions])
    rewards = np.asarray(timestep.reward, dtype=np.float64).copy()
    self._returns += rewards
    self._steps += 1
    self._unreported += 1
    return timestep, rewards

  def _skip_votes(self, timestep: dm_env.TimeStep
                  ) -> tuple[dm_env.TimeStep, np.ndarray]:
    """Plays VOTE steps with the truthful rankings; returns their rewards."""
    total = np.zeros(self.num_players)
    vote_step = 0
    while not timestep.last() and _phase(timestep) == phases.Phase.VOTE:
      timestep, rewards = self._substrate_step(
          [bots.ballot_action(ballot, vote_step) for ballot in self._ballots])
      total += rewards
      vote_step += 1
    return timestep, total

  def _encode(self, timestep: dm_env.TimeStep) -> features.Observation:
    return features.encode_players(timestep.observation, self._observation,
                                   self._mechanism, self._observe_skill)


def _phase(timestep: dm_env.TimeStep) -> int:
  return int(round(float(timestep.observation[0]["PHASE"])))


class _Group:
  """Several `HarvestEnv`s stepped one after the other."""

  def __init__(self, configs: Sequence[game_lib.GameConfig],
               observation: str, condition: bool = False,
               observe_skill: bool = False,
               skill_draw: str = skill_draw_lib.FIXED):
    self.envs = [HarvestEnv(config, observation, condition, observe_skill,
                            skill_draw)
                 for config in configs]

  @property
  def num_players(self) -> int:
    return self.envs[0].num_players

  def players(self) -> int:
    """`num_players`, as a call (a Ray actor answers calls only)."""
    return self.num_players

  def reset(self) -> tuple[features.Observation, int]:
    """Observations of shape [envs, players, ...]; substrate steps taken."""
    observations = features.stack([env.reset() for env in self.envs])
    return observations, self._pop_steps()

  def step(self, actions: np.ndarray):
    """Steps env i with actions[i]; returns the results stacked over envs:
    (observations, rewards, dones, substrate steps taken, episodes)."""
    results = [env.step(a) for env, a in zip(self.envs, actions)]
    observations, rewards, dones, episodes = zip(*results)
    return (features.stack(list(observations)), np.stack(rewards),
            np.array(dones), self._pop_steps(),
            [e for e in episodes if e is not None])

  def set_tax_cap(self, cap: float) -> None:
    for env in self.envs:
      env.set_tax_cap(cap)

  def _pop_steps(self) -> int:
    return sum(env.pop_steps() for env in self.envs)

  def close(self) -> None:
    for env in self.envs:
      env.close()


def _work(conn: connection.Connection,
          configs: Sequence[game_lib.GameConfig], observation: str,
          condition: bool, observe_skill: bool, skill_draw: str) -> None:
  """A worker process: runs commands on its `_Group` until told to stop."""
  # Ctrl-C reaches the whole process group; the parent handles it and
  # closes the workers.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    group = _Group(configs, observation, condition, observe_skill,
                   skill_draw)
  except Exception:  # pylint: disable=broad-except
    conn.send(("error", traceback.format_exc()))
    return
  conn.send(("ok", group.num_players))
  try:
    while True:
      try:
        command, args = conn.recv()
      except EOFError:
        break  # The parent is gone: stop quietly.
      if command == "close":
        break
      try:
        result = getattr(group, command)(*args)
      except Exception:  # pylint: disable=broad-except
        conn.send(("error", traceback.format_exc()))
        break
      conn.send(("ok", result))
  finally:
    group.close()


class _ProcessWorker:
  """A `_Group` in a spawned process, driven over a pipe (`_work`).

  A worker runs one command at a time: `send` starts it, `receive` waits for
  its result. The first `receive` gives the group's number of players.
  """

  def __init__(self, context: Any, *group_args: Any):
    parent, child = context.Pipe()
    self._process = context.Process(target=_work, args=(child, *group_args),
                                    daemon=True)
    self._process.start()
    child.close()
    self._conn = parent

  def send(self, command: str, args: tuple) -> None:
    """Starts `command(*args)` on the group; `receive` gives its result."""
    self._conn.send((command, args))

  def receive(self) -> Any:
    try:
      status, payload = self._conn.recv()
    except EOFError:
      raise RuntimeError("A rollout worker died") from None
    if status == "error":
      raise RuntimeError(f"A rollout worker failed:\n{payload}")
    return payload

  def close(self) -> None:
    try:
      self._conn.send(("close", ()))
    except (BrokenPipeError, OSError):
      pass
    self._process.join(timeout=10)
    if self._process.is_alive():
      self._process.terminate()
    self._conn.close()


class _RayWorker:
  """A `_Group` as a Ray actor of one CPU; used as a `_ProcessWorker`."""

  def __init__(self, ray: Any, *group_args: Any):
    self._ray = ray
    self._actor = ray.remote(num_cpus=1)(_Group).remote(*group_args)
    self._pending = self._actor.players.remote()

  def send(self, command: str, args: tuple) -> None:
    """Starts `command(*args)` on the actor; `receive` gives its result."""
    self._pending = getattr(self._actor, command).remote(*args)

  def receive(self) -> Any:
    errors = self._ray.exceptions
    try:
      return self._ray.get(self._pending)
    except errors.RayActorError as error:  # Its traceback, if it failed.
      raise RuntimeError(f"A rollout worker (Ray actor) died:\n{error}"
                         ) from None
    except errors.RayError as error:
      raise RuntimeError(f"A rollout worker failed:\n{error}") from None

  def close(self) -> None:
    # Closes the games (Lab2D) before the actor goes; a dead actor is fine.
    with contextlib.suppress(self._ray.exceptions.RayError):
      self._ray.get(self._actor.close.remote(), timeout=10)
    self._ray.kill(self._actor)


def _warn_if_too_few_cpus(ray: Any, num_workers: int) -> None:
  """Says on stderr when the cluster has fewer CPUs than workers: the
  actors beyond them wait (forever, unless the cluster grows)."""
  cpus = ray.cluster_resources().get("CPU", 0)
  if cpus < num_workers:
    print(f"warning: {num_workers} rollout workers need a CPU each; the Ray "
          f"cluster has {cpus:g}, so {num_workers - cpus:g} wait for more "
          "(ray status shows them)", file=sys.stderr, flush=True)


class VectorEnv:
  """Several games as one batch of player slots.

  Slot s = env * players + player. Use as a context manager, or call
  `close()`, so the workers end. Worker processes are started with
  multiprocessing's "spawn" (JAX and Lab2D do not survive a fork), so a
  script that builds a VectorEnv with workers needs the
  `if __name__ == "__main__":` guard. With `ray_address` each worker is a
  Ray actor instead, on that cluster (`parallel.ray_session`). Either way
  game i plays the same steps for the same actions: the batch does not
  depend on the transport or on how the games are shared among workers.
  """

  def __init__(self, configs: Sequence[game_lib.GameConfig],
               observation: str, num_workers: int, condition: bool = False,
               observe_skill: bool = False,
               skill_draw: str = skill_draw_lib.FIXED,
               ray_address: Optional[str] = None):
    """Starts the games.

    Args:
      configs: one `GameConfig` per game (seeds should differ).
      observation: "symbolic" or "rgb".
      num_workers: worker processes to share the games among; 0 runs them
        in this process.
      condition: encode the bracket position too (`HarvestEnv`).
      observe_skill: encode each player's SKILL too (`HarvestEnv`).
      skill_draw: the players' skills in each game (`HarvestEnv`).
      ray_address: run each worker as a Ray actor on this cluster
        (`parallel.RAY_ADDRESS`); None: worker processes.

    Raises:
      ValueError: no configs, or more workers than games.
      RuntimeError: a worker failed to start (its traceback is included).
    """
    if not configs:
      raise ValueError("VectorEnv needs at least one game config")
    if num_workers > len(configs):
      raise ValueError(f"num_workers ({num_workers}) exceeds the number of "
                       f"games ({len(configs)})")
    self.num_envs = len(configs)
    self._local: Optional[_Group] = None
    self._workers: list[Any] = []  # _ProcessWorker or _RayWorker.
    self._sizes: list[int] = []
    self._session = contextlib.ExitStack()  # The Ray connection, if any.
    self.episodes: list[Episode] = []
    self.substrate_steps = 0
    if num_workers == 0:
      self._local = _Group(configs, observation, condition, observe_skill,
                           skill_draw)
      self.num_players = self._local.num_players
      return
    try:
      if ray_address is None:
        start = functools.partial(_ProcessWorker,
                                  multiprocessing.get_context("spawn"))
      else:
        ray = self._session.enter_context(
            parallel.ray_session(num_workers, ray_address))
        _warn_if_too_few_cpus(ray, num_workers)
        start = functools.partial(_RayWorker, ray)
      for chunk in np.array_split(np.arange(len(configs)), num_workers):
        self._workers.append(start([configs[i] for i in chunk], observation,
                                   condition, observe_skill, skill_draw))
        self._sizes.append(len(chunk))
      self.num_players = [worker.receive() for worker in self._workers][0]
    except BaseException:
      self.close()
      raise

  @property
  def num_slots(self) -> int:
    return self.num_envs * self.num_players

  def reset(self) -> dm_env.TimeStep:
    """Resets every game; a FIRST timestep over all slots."""
    observation, steps = self._call("reset")
    self.substrate_steps += steps
    return dm_env.TimeStep(
        step_type=np.full(self.num_slots, dm_env.StepType.FIRST),
        reward=np.zeros(self.num_slots, np.float32),
        discount=np.ones(self.num_slots, np.float32),
        observation=_flatten(observation))

  def step(self, actions: np.ndarray) -> dm_env.TimeStep:
    """Steps every game with one commons action per slot."""
    actions = np.asarray(actions).reshape(self.num_envs, self.num_players)
    observation, rewards, dones, steps, episodes = self._call("step", actions)
    self.substrate_steps += steps
    self.episodes.extend(episodes)
    done = np.repeat(dones, self.num_players)
    return dm_env.TimeStep(
        step_type=np.where(done, dm_env.StepType.LAST, dm_env.StepType.MID),
        reward=rewards.reshape(-1).astype(np.float32),
        discount=np.where(done, 0.0, 1.0).astype(np.float32),
        observation=_flatten(observation))

  def set_tax_cap(self, cap: float) -> None:
    """`HarvestEnv.set_tax_cap` in every game."""
    if self._local is not None:
      self._local.set_tax_cap(cap)
      return
    for worker in self._workers:
      worker.send("set_tax_cap", (cap,))
    for worker in self._workers:
      worker.receive()

  def pop_episodes(self) -> list[Episode]:
    """The episodes finished since the last call."""
    episodes, self.episodes = self.episodes, []
    return episodes

  def close(self) -> None:
    if self._local is not None:
      self._local.close()
    for worker in self._workers:
      worker.close()
    self._workers = []
    self._session.close()

  def __enter__(self) -> "VectorEnv":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def _call(self, command: str, actions: Optional[np.ndarray] = None):
    """Runs `command` on every group, in parallel; stacks the results."""
    if self._local is not None:
      return getattr(self._local, command)(
          *(() if actions is None else (actions,)))
    offsets = np.cumsum([0] + self._sizes)
    for worker, lo, hi in zip(self._workers, offsets, offsets[1:]):
      worker.send(command, () if actions is None else (actions[lo:hi],))
    results = [worker.receive() for worker in self._workers]
    if command == "reset":
      observations, steps = zip(*results)
      return _concat(list(observations)), sum(steps)
    observation, rewards, dones, steps, episodes = zip(*results)
    return (_concat(list(observation)), np.concatenate(rewards),
            np.concatenate(dones), sum(steps),
            [e for group in episodes for e in group])


def _concat(observations: list[features.Observation]
            ) -> features.Observation:
  return {key: np.concatenate([o[key] for o in observations])
          for key in observations[0]}


def _flatten(observation: features.Observation) -> features.Observation:
  """[envs, players, ...] -> [envs * players, ...]."""
  return {key: value.reshape((-1,) + value.shape[2:])
          for key, value in observation.items()}
