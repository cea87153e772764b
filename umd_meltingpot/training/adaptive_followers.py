"""Followers that keep adapting while a principal learns (`--adapt-followers`).

In Large Legislative Models (Gasztowtt et al. 2024) the agents learn under
each schedule the principal tries before it is scored; the AI Economist's
second phase trains both levels together. `umd train principal
--adapt-followers U` does the same with our PPO followers: after every
training game, the followers that `--bots` names (one PPO checkpoint, played
by every player) take U PPO updates in games played under the principal's
current state, then play the next training game with the new parameters.

  followers = AdaptiveFollowers(source_checkpoint("ppo_conditioned"),
                                updates=4, envs=1, seed=0,
                                folder=run / FOLDER)
  followers.bots                 # "ppo:<run>/followers/current.npz"
  followers.adapt(game_configs)  # 4 PPO updates in games of these configs
  followers.save(games=10)       # <run>/followers/games-10.npz
  followers.prune(games=10)      # the older snapshots, once the principal's
                                 # checkpoint names game 10
  followers.restore(games=10)    # on resume

The learner and actor are `agents/ppo`'s (`PPOLearner`, `PPOActor`,
`rollouts`, `VectorEnv`), as in `umd train followers`; the games run in this
process. The followers start from the checkpoint's parameters with a fresh
optimiser (as `--init-from`); the network and its PPO hyperparameters are
the checkpoint's, but `envs` games are stepped together. The games of an
adaptation load the principal from a snapshot of its state (`PRINCIPAL`,
written by the caller), so it plays there as in training, learning within
each game; what it learns there is discarded. Each adaptation starts fresh
games seeded from the run's seed and the followers' update count.

Checkpoints: `save(games)` writes the followers' parameters, optimiser
state, PRNG keys and counters to `games-<G>.npz` (the PPO checkpoint format,
with the source checkpoint's config, so `--bots ppo:PATH` plays it), taken
with the principal checkpoint of the same game count; `restore(games)`
reads that file back. The caller prunes the older snapshots only after the
principal's checkpoint is rewritten, so a run killed between the two writes
resumes from a consistent pair (the principal's count names a snapshot that
is still there).
"""

import dataclasses
import pathlib
from typing import Any, Optional, Sequence

import numpy as np

from umd_meltingpot.game import loop as game_lib

FOLDER = "followers"
"""The followers' folder inside a principal run."""
PRINCIPAL = "principal.npz"
"""The principal snapshot that adaptation games load, in that folder."""
_CURRENT = "current.npz"
_COUNTERS = ("updates", "env_steps", "episodes")


def source_checkpoint(bots: str) -> str:
  """The one PPO checkpoint that `bots` names, for every player.

  Raises:
    ValueError: `bots` names a bot that is not a PPO follower, or several
      checkpoints.
  """
  from umd_meltingpot import agents  # pylint: disable=g-import-not-at-top
  names = sorted({name.strip() for name in bots.split(",") if name.strip()})
  paths = {name: agents.ppo_checkpoint(name) for name in names}
  others = [name for name, path in paths.items() if path is None]
  if others or len({str(pathlib.Path(p).resolve()) for p in paths.values()
                    if p}) != 1:
    raise ValueError(
        f"--adapt-followers fine-tunes one PPO follower played by every "
        f"player; --bots must name one (ppo, ppo_conditioned, "
        f"ppo_conditioned_unequal or ppo:PATH), got {bots!r}")
  return paths[names[0]]


def _ppo_config(source: str, loaded_config: dict[str, Any], envs: int):
  """The checkpoint's PPO config, its games stepped in this process."""
  from umd_meltingpot.agents.ppo import config as config_lib  # pylint: disable=g-import-not-at-top
  try:
    ppo = config_lib.PPOConfig(**loaded_config["ppo"])
    num_players = int(loaded_config["num_players"])
  except (KeyError, TypeError, ValueError) as error:
    raise ValueError(f"{source}: config 'ppo' or 'num_players' is invalid: "
                     f"{error!r}") from None
  ppo = dataclasses.replace(ppo, num_workers=0, envs_per_worker=envs)
  try:
    ppo.check_batch(num_players)
  except ValueError as error:
    raise ValueError(f"--adapt-envs {envs}: {error}") from None
  return ppo


def check(source: str, envs: int) -> None:
  """Checks that the follower checkpoint at `source` can adapt in `envs`
  games (its minibatches divide the batch); builds nothing.

  Raises:
    ValueError: a missing or corrupt checkpoint, or a batch its minibatches
      do not divide.
  """
  from umd_meltingpot.ppo import checkpoint as checkpoint_lib  # pylint: disable=g-import-not-at-top
  _ppo_config(source, dict(checkpoint_lib.load(source).config), envs)


@dataclasses.dataclass
class _Batches:
  """The learner's iterator: the rollouts of the current adaptation."""
  source: Optional[Any] = None

  def __iter__(self) -> "_Batches":
    return self

  def __next__(self):
    return next(self.source)


class AdaptiveFollowers:
  """A PPO follower fine-tuned between the games of a principal run."""

  def __init__(self, source: str, *, updates: int, envs: int, seed: int,
               folder: pathlib.Path):
    """Builds the learner from the checkpoint at `source`.

    Args:
      source: the follower checkpoint (`source_checkpoint`).
      updates: PPO updates per adaptation, >= 1.
      envs: games stepped together, >= 1.
      seed: seeds the learner, the actor and the games.
      folder: where its checkpoints go.

    Raises:
      ValueError: a missing or corrupt checkpoint, or a batch that the
        checkpoint's minibatches do not divide.
    """
    # pylint: disable=g-import-not-at-top
    import jax
    from umd_meltingpot.training import follower_actor as actor_lib
    from umd_meltingpot.ppo import checkpoint as checkpoint_lib
    from umd_meltingpot.agents.ppo import learning
    from umd_meltingpot.agents.ppo import networks as networks_lib
    # pylint: enable=g-import-not-at-top
    loaded = checkpoint_lib.load(source)
    self._config = dict(loaded.config)
    self._ppo = ppo = _ppo_config(source, self._config, envs)
    self._updates, self._seed = updates, seed
    self._folder = pathlib.Path(folder)
    self._checkpoint_lib, self._actor_lib = checkpoint_lib, actor_lib
    networks = networks_lib.make_networks_from_config(
        self._ppo, int(self._config["num_rates"]))
    self._optimizer = learning.make_optimizer(
        ppo.learning_rate, ppo.adam_epsilon, ppo.max_grad_norm)
    learner_key, actor_key = jax.random.split(jax.random.PRNGKey(seed))
    self._batches = _Batches()
    self._learner = learning.PPOLearner(
        networks, self._batches, self._optimizer, learner_key,
        discount=ppo.discount, gae_lambda=ppo.gae_lambda,
        clip_epsilon=ppo.clip_epsilon, entropy_cost=ppo.entropy_cost,
        value_cost=ppo.value_cost, num_epochs=ppo.num_epochs,
        num_minibatches=ppo.num_minibatches)
    self._actor = actor_lib.PPOActor(networks, self._learner, actor_key,
                                     unroll_length=ppo.unroll_length)
    template = self._learner.save()
    checkpoint_lib.check_params(loaded.params, template.params, source)
    self._learner.restore(template._replace(
        params=jax.tree_util.tree_map(np.asarray, loaded.params)))
    self._actor.update()
    self.counters = dict.fromkeys(_COUNTERS, 0)

  @property
  def folder(self) -> pathlib.Path:
    return self._folder

  @property
  def current(self) -> pathlib.Path:
    """The checkpoint of the current parameters, which the bots play."""
    return self._folder / _CURRENT

  @property
  def bots(self) -> str:
    """The `--bots` value that plays the current parameters."""
    return f"ppo:{self.current}"

  def adapt(self, configs: Sequence[game_lib.GameConfig]) -> dict[str, Any]:
    """Takes the PPO updates in new games of `configs` (their seeds are
    replaced); writes the current checkpoint; returns metrics.jsonl fields.
    """
    from umd_meltingpot.training import followers as train  # pylint: disable=g-import-not-at-top
    from umd_meltingpot.training import follower_env as env_lib  # pylint: disable=g-import-not-at-top
    seeds = train.env_seeds(self._seed, self.counters["updates"] + 1,
                            len(configs))
    configs = [dataclasses.replace(config, seed=seed)
               for config, seed in zip(configs, seeds)]
    losses = {}
    with env_lib.VectorEnv(configs, self._ppo.observation, 0,
                           condition=self._ppo.condition_on_mechanism,
                           observe_skill=self._ppo.observe_skill) as env:
      self._batches.source = self._actor_lib.rollouts(env, self._actor)
      for _ in range(self._updates):
        self._learner.step()
        self._actor.update()
        losses = self._learner.metrics
      episodes = env.pop_episodes()
      steps = env.substrate_steps
    self._batches.source = None
    self.counters["updates"] += self._updates
    self.counters["env_steps"] += steps
    self.counters["episodes"] += len(episodes)
    self._write(self.current)
    returns = [episode.per_capita_return for episode in episodes]
    return {"followers/updates": self.counters["updates"],
            "followers/env_steps": self.counters["env_steps"],
            "followers/episode_return": (float(np.mean(returns)) if returns
                                         else None),
            **{f"followers/{name}": value for name, value in losses.items()}}

  def save(self, games: int) -> pathlib.Path:
    """Writes `games-<games>.npz` and the current checkpoint. The older
    snapshots stay until `prune`: the principal's checkpoint may still name
    one of them if the run is killed before it is rewritten."""
    path = self._snapshot(games)
    self._write(path)
    self._write(self.current)  # The first game's bots, on a new run.
    return path

  def prune(self, games: int) -> None:
    """Removes every game snapshot but `games-<games>.npz`."""
    keep = self._snapshot(games)
    for old in self._folder.glob("games-*.npz"):
      if old != keep:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)

  def restore(self, games: int) -> None:
    """Loads `games-<games>.npz` (see `save`).

    Raises:
      ValueError: it is missing, corrupt or of another network.
    """
    import jax  # pylint: disable=g-import-not-at-top
    path = self._snapshot(games)
    loaded = self._checkpoint_lib.load(path)
    template = self._learner.save()
    self._checkpoint_lib.check_params(loaded.params, template.params,
                                      str(path))
    opt_state = self._checkpoint_lib.restore_opt_state(
        loaded.opt_state_leaves, self._optimizer.init(template.params),
        str(path))
    missing = {"learner", "actor"} - set(loaded.rng)
    if missing:
      raise ValueError(f"{path} lacks the PRNG keys {sorted(missing)}")
    self.counters = {name: int(loaded.counters.get(name, 0))
                     for name in _COUNTERS}
    self._learner.restore(template._replace(
        params=jax.tree_util.tree_map(np.asarray, loaded.params),
        opt_state=opt_state, random_key=loaded.rng["learner"],
        num_updates=np.int32(self.counters["updates"])))
    self._actor.random_key = loaded.rng["actor"]
    self._actor.update()
    self._write(self.current)

  def _snapshot(self, games: int) -> pathlib.Path:
    return self._folder / f"games-{games}.npz"

  def _write(self, path: pathlib.Path) -> None:
    state = self._learner.save()
    self._checkpoint_lib.save(
        path, params=state.params, opt_state=state.opt_state,
        counters=self.counters, config=self._config,
        rng={"learner": state.random_key, "actor": self._actor.random_key})
