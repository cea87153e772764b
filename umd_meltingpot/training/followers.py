"""`umd train followers`: PPO followers learning under a chosen mechanism.

  from umd_meltingpot.training import followers as train
  prepared = train.prepare(train.TrainConfig(total_steps=200_000),
                           train.PPOConfig())
  result = train.train(prepared)

  prepared = train.prepare_resume("runs/train-20250101-120000")
  train.train(prepared)   # Continues from the last checkpoint.

The followers (one parameter-shared PPO network, `agents/ppo/`) play the
HARVEST phase of whole games of a UMD substrate, wrapped with the principal
exactly as in `umd run`: a fixed tax schedule (`--principal fixed --phi0
...`), none (`--principal none`), or any other registered principal (a
learning one is new in every game), with the same delta, divergence and
social choice rule. Their VOTE steps are played by truthful voters (see
`umd_meltingpot/training/follower_env.py`). The reward is each player's HARVEST reward:
the apples it eats net of tax, plus transfers.

A run folder holds

*   `config.json`: the training options, the PPO config and the observation
    sizes (also embedded in every checkpoint);
*   `metrics.jsonl`: one JSON line per update, flushed as written: the
    counters, `time_s` (seconds since this process started training),
    `charts/...` (env steps/s, per-capita episode return, apples alive at
    round ends) and `losses/...`;
*   `checkpoint.npz` (+ `checkpoint.json`, a readable copy of its config and
    counters): params, optimiser state, counters and PRNG keys, replaced
    atomically every `checkpoint_every` updates and at the end;
*   TensorBoard events (`charts/...`, `losses/...`).

`--resume` rebuilds everything from `config.json` and the checkpoint, cuts
`metrics.jsonl` back to the checkpoint's update, and carries on counting.
Games in progress when the run stopped are not resumed: the resumed run
starts fresh games, seeded from the seed and the update it resumes at.
"""

import dataclasses
import json
import math
import os
import pathlib
import sys
import time
from typing import Any, Optional

# pylint: disable=g-import-not-at-top
# One XLA thread: the cores belong to the rollout workers (set before JAX
# starts its CPU backend; an explicit XLA_FLAGS wins).
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np

from umd_meltingpot import agents
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import skill_draw as skill_draw_lib
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.training import common as training
from umd_meltingpot.plumbing import validation
from umd_meltingpot.agents.ppo.config import PPOConfig
# pylint: enable=g-import-not-at-top

CHECKPOINT = "checkpoint.npz"
METRICS = training.METRICS


@dataclasses.dataclass(frozen=True)
class TrainConfig(training.RunOptions):
  """The options of a followers training run; each is a `umd train
  followers` flag (the PPO hyperparameters are `PPOConfig`'s)."""
  total_steps: int = validation.checked(1_000_000, validation.integer(ge=1))
  """Stop after this many env steps (substrate steps of all players
  together, VOTE steps included)."""
  pretrain_steps: int = validation.checked(0, validation.integer(ge=0))
  """The curriculum (with --principal random): env steps with no tax at all
  (the random principal's cap held at 0) before the cap is annealed in."""
  anneal_steps: int = validation.checked(0, validation.integer(ge=0))
  """The curriculum: env steps over which the random principal's cap rises
  linearly from 0 to max_rate after the pretraining (0: at once)."""
  tax_cap: Optional[float] = validation.checked(
      None, validation.optional(validation.number(ge=0)))
  """The random principal draws rates in [0, tax_cap] (the curriculum
  anneals the cap up to it); default: the game's max_rate. A follower meant
  to tell skills apart learns most where some skills gain from an apple and
  others lose (flat rates near 1 on the unequal economy), which draws up to
  max_rate 4 rarely reach."""
  init_from: Optional[str] = None
  """Start from the parameters of this follower checkpoint (e.g. a
  specialist trained under one fixed phi) with a fresh optimiser; its
  network must match the PPO options, except that one trained without
  --observe-skill may start one with it (SKILL enters with zero weights, so
  the first policy is the checkpoint's). Ignored on --resume."""
  skill_draw: str = validation.checked(skill_draw_lib.FIXED,
                                       skill_draw_lib.CHECK)
  """The players' skills in each training game: fixed (the game's), permute
  (the game's, shuffled among the players every game) or uniform:LO,HI
  (each drawn log-uniformly from [LO, HI] every game). Drawn skills keep a
  follower from telling skills apart by agent id, so it must read SKILL
  (--observe-skill); its checkpoint records the draw, and plays the games
  whose skills the draw covers."""
  ray_address: Optional[str] = validation.checked(None, parallel.RAY_ADDRESS)
  """Play the games in Ray actors, one per --num-workers, on this Ray
  cluster: auto, local (a new Ray here), HOST:PORT or ray://HOST:PORT (every
  node needs this package); default: worker processes here. The results do
  not depend on it; --resume reuses it."""

  @property
  def curriculum(self) -> bool:
    """Whether the tax cap follows the curriculum (`tax_cap`)."""
    return self.pretrain_steps > 0 or self.anneal_steps > 0

  @property
  def capped(self) -> bool:
    """Whether the random principal's draws are capped below max_rate."""
    return self.curriculum or self.tax_cap is not None


def tax_cap(env_steps: int, pretrain_steps: int, anneal_steps: int,
            max_rate: float) -> float:
  """The AI Economist's curriculum: the random principal's cap on rates
  after `env_steps` env steps (0 while pretraining, then a linear anneal to
  max_rate). A function of the checkpoint's counters, so a resumed run
  carries on where it stopped."""
  if env_steps < pretrain_steps:
    return 0.0
  if anneal_steps == 0:
    return max_rate
  return max_rate * min(1.0, (env_steps - pretrain_steps) / anneal_steps)


@dataclasses.dataclass(kw_only=True)
class PreparedTraining(training.PreparedRun):
  """A validated followers training run, ready to start or resume."""
  config: TrainConfig
  ppo: PPOConfig
  num_players: int
  num_rates: int


@dataclasses.dataclass
class TrainResult:
  """What `train` produced."""
  out: pathlib.Path
  updates: int
  env_steps: int
  last_return: Optional[float]

  def summary(self) -> str:
    """One line for the terminal."""
    last = ("none finished" if self.last_return is None
            else f"{self.last_return:.2f}")
    return (f"{self.updates} updates, {self.env_steps} env steps; last "
            f"per-capita return {last}; outputs in {self.out}/")


def prepare(config: TrainConfig, ppo: PPOConfig) -> PreparedTraining:
  """Checks every option; builds nothing and writes nothing.

  Raises:
    ValueError: an invalid option, with the valid values in the message.
  """
  game = game_lib.prepare(config.game_config(config.seed), agents.FACTORY)
  ppo.check_batch(game.num_players)
  if config.init_from is not None:
    _initial_params(config.init_from, ppo, game.num_players,
                    len(game.substrate_config.initial_rates))
  if config.capped and config.principal != "random":
    raise ValueError(
        "--pretrain-steps, --anneal-steps and --tax-cap cap the random "
        "principal's draws; they need --principal random, got "
        f"{config.principal!r}")
  if config.ray_address is not None:
    if ppo.num_workers == 0:
      raise ValueError(
          f"--ray-address {config.ray_address} runs the workers as Ray "
          "actors; it needs --num-workers >= 1, got 0")
    parallel.check_options(0, config.ray_address)
  if config.skill_draw != skill_draw_lib.FIXED and not ppo.observe_skill:
    raise ValueError(
        f"--skill-draw {config.skill_draw} draws skills the followers could "
        "only learn from by reading them; it needs --observe-skill")
  runs.check_new_folder(config.out)
  return PreparedTraining(
      config=config, ppo=ppo, num_players=game.num_players,
      num_rates=len(game.substrate_config.initial_rates),
      substrate_config={**game_lib.substrate_summary(game),
                        trained_game.SKILL_DRAW: config.skill_draw},
      out=pathlib.Path(config.out) if config.out else None)


def prepare_resume(run: str,
                   total_steps: Optional[int] = None) -> PreparedTraining:
  """Prepares to continue the run in folder `run` from its checkpoint.

  Args:
    run: a folder written by `train`.
    total_steps: a new total, to train longer than first asked.

  Raises:
    ValueError: no such run, a principal run, or a missing or corrupt
      config or checkpoint.
  """
  from umd_meltingpot.ppo import checkpoint as checkpoint_lib  # pylint: disable=g-import-not-at-top
  folder, saved, config = training.resume_options(
      run, TrainConfig, training.FOLLOWERS, "total_steps", total_steps)
  try:
    ppo = PPOConfig(**saved["ppo"])
  except (KeyError, TypeError, ValueError) as error:
    raise ValueError(
        f"{folder / training.CONFIG} is corrupt: {error!r}") from None
  checkpoint_lib.load(folder / CHECKPOINT)  # Raises if missing or corrupt.
  return training.mark_resumed(prepare(config, ppo), folder)


def run_config(prepared: PreparedTraining) -> dict[str, Any]:
  """The JSON config of a run, as written to config.json and checkpoints."""
  return {
      "train": dataclasses.asdict(prepared.config),
      "ppo": dataclasses.asdict(prepared.ppo),
      "num_players": prepared.num_players,
      "num_rates": prepared.num_rates,
      "substrate_config": prepared.substrate_config,
  }


def env_seeds(seed: int, start_update: int, num_envs: int) -> list[int]:
  """The seeds of the training games, new for every (re)start."""
  state = np.random.SeedSequence([seed, start_update]).generate_state(
      num_envs)
  return [int(s >> 1) for s in state]


def _episode_metrics(episodes) -> dict[str, Optional[float]]:
  """Per-capita return and apples alive at round ends, over `episodes`."""
  names = ("charts/episode_return", "charts/apples_alive",
           "charts/apples_alive_final")
  if not episodes:
    return dict.fromkeys(names)
  ends = [e.apples_alive for e in episodes if e.apples_alive]
  return dict(zip(names, (
      float(np.mean([e.per_capita_return for e in episodes])),
      float(np.mean([np.mean(a) for a in ends])) if ends else None,
      float(np.mean([a[-1] for a in ends])) if ends else None)))


class _Logger:
  """metrics.jsonl (flushed per line) and TensorBoard scalars."""

  def __init__(self, out: pathlib.Path, config: dict[str, Any]):
    import tensorboardX  # pylint: disable=g-import-not-at-top
    self._metrics = runs.JsonLines(out / METRICS)
    self._writer = tensorboardX.SummaryWriter(str(out))
    self._writer.add_text("config", "```\n" + json.dumps(
        config, indent=2, sort_keys=True) + "\n```", global_step=0)

  def write(self, record: dict[str, Any]) -> None:
    self._metrics.write(record)
    for name, value in record.items():
      if "/" in name and value is not None:
        self._writer.add_scalar(name, value, global_step=record["env_steps"])
    self._writer.flush()

  def close(self) -> None:
    self._metrics.close()
    self._writer.close()


def train(prepared: PreparedTraining, *, progress: bool = True
          ) -> TrainResult:
  """Trains (or resumes) until `total_steps` env steps.

  Raises:
    ValueError: the run folder exists and is not empty (new runs), or the
      checkpoint does not fit the config (resumed runs).
  """
  # pylint: disable=g-import-not-at-top
  import jax
  import tqdm
  from umd_meltingpot.training import follower_actor as actor_lib
  from umd_meltingpot.ppo import checkpoint as checkpoint_lib
  from umd_meltingpot.training import follower_env as env_lib
  from umd_meltingpot.agents.ppo import learning
  from umd_meltingpot.agents.ppo import networks as networks_lib
  # pylint: enable=g-import-not-at-top
  config, ppo = prepared.config, prepared.ppo
  networks = networks_lib.make_networks_from_config(ppo, prepared.num_rates)
  optimizer = learning.make_optimizer(ppo.learning_rate, ppo.adam_epsilon,
                                      ppo.max_grad_norm)
  learner_key, actor_key = jax.random.split(jax.random.PRNGKey(config.seed))
  actor = None

  def batches():
    yield from actor_lib.rollouts(env, actor)

  learner = learning.PPOLearner(
      networks, batches(), optimizer, learner_key, discount=ppo.discount,
      gae_lambda=ppo.gae_lambda, clip_epsilon=ppo.clip_epsilon,
      entropy_cost=ppo.entropy_cost, value_cost=ppo.value_cost,
      num_epochs=ppo.num_epochs, num_minibatches=ppo.num_minibatches)
  actor = actor_lib.PPOActor(networks, learner, actor_key,
                             unroll_length=ppo.unroll_length)
  counters = {"updates": 0, "env_steps": 0, "agent_steps": 0, "episodes": 0}
  if prepared.resume:
    out = prepared.out
    counters = _restore(out / CHECKPOINT, learner, actor, optimizer)
    training.trim_metrics(out / METRICS, counters["updates"], key="updates")
  else:
    if config.init_from is not None:
      template = learner.save()
      learner.restore(template._replace(params=_initial_params(
          config.init_from, ppo, prepared.num_players, prepared.num_rates)))
      actor.update()
    out = training.new_folder(prepared, "train", run_config)
  config_json = run_config(prepared)

  def save() -> None:
    state = learner.save()
    checkpoint_lib.save(
        out / CHECKPOINT, params=state.params, opt_state=state.opt_state,
        counters=counters, config=config_json,
        rng={"learner": state.random_key, "actor": actor.random_key})

  seeds = env_seeds(config.seed, counters["updates"], ppo.num_envs)
  logger = _Logger(out, config_json)
  bar = tqdm.tqdm(total=config.total_steps, initial=counters["env_steps"],
                  unit="step", disable=not progress, file=sys.stderr,
                  desc=f"train {config.substrate}", dynamic_ncols=True)
  last_return = None
  try:
    env = env_lib.VectorEnv([config.game_config(s) for s in seeds],
                            ppo.observation, ppo.num_workers,
                            condition=ppo.condition_on_mechanism,
                            observe_skill=ppo.observe_skill,
                            skill_draw=config.skill_draw,
                            ray_address=config.ray_address)
    with env:
      start_steps, start_time = counters["env_steps"], time.perf_counter()
      saved_at = counters["updates"]
      cap = None
      # What the curriculum anneals the cap up to.
      top_cap = min(prepared.substrate_config["max_rate"],
                    math.inf if config.tax_cap is None else config.tax_cap)
      while counters["env_steps"] < config.total_steps:
        if config.capped:
          new_cap = tax_cap(counters["env_steps"], config.pretrain_steps,
                            config.anneal_steps, top_cap)
          if new_cap != cap:
            env.set_tax_cap(new_cap)
            cap = new_cap
        tick = time.perf_counter()
        before = env.substrate_steps
        learner.step()
        actor.update()
        elapsed = time.perf_counter() - tick
        episodes = env.pop_episodes()
        counters["updates"] += 1
        counters["env_steps"] = start_steps + env.substrate_steps
        counters["agent_steps"] += (ppo.unroll_length * ppo.num_envs
                                    * prepared.num_players)
        counters["episodes"] += len(episodes)
        record = {**counters,
                  "time_s": time.perf_counter() - start_time,
                  "charts/tax_cap": cap,
                  "charts/sps": (env.substrate_steps - before) / elapsed,
                  **_episode_metrics(episodes),
                  **{f"losses/{k}": v for k, v in learner.metrics.items()}}
        logger.write(record)
        if record["charts/episode_return"] is not None:
          last_return = record["charts/episode_return"]
          bar.set_postfix(ret=f"{last_return:.2f}")
        bar.update(env.substrate_steps - before)
        if counters["updates"] % config.checkpoint_every == 0:
          save()
          saved_at = counters["updates"]
      if saved_at != counters["updates"]:
        save()
  finally:
    bar.close()
    logger.close()
  return TrainResult(out=out, updates=counters["updates"],
                     env_steps=counters["env_steps"], last_return=last_return)


def _initial_params(path: str, ppo: PPOConfig, num_players: int,
                    num_rates: int) -> Any:
  """The parameters of the checkpoint at `path`, checked against the network
  `ppo` describes (`--init-from`). A checkpoint of the same network without
  the SKILL input is widened (`networks.add_skill_input`).

  Raises:
    ValueError: a missing or corrupt checkpoint, or one of another network
      (naming the first entry that differs).
  """
  # pylint: disable=g-import-not-at-top
  import jax
  from umd_meltingpot.ppo import checkpoint as checkpoint_lib
  from umd_meltingpot.agents.ppo import networks as networks_lib
  # pylint: enable=g-import-not-at-top
  loaded = checkpoint_lib.load(path)
  params = loaded.params
  if ppo.observe_skill and _fits(params, dataclasses.replace(
      ppo, observe_skill=False), num_rates):
    params = networks_lib.add_skill_input(params, ppo, num_rates)
  template = networks_lib.make_networks_from_config(ppo, num_rates).init(
      jax.random.PRNGKey(0))
  checkpoint_lib.check_params(params, template, f"--init-from {path}")
  del num_players  # Agent ids wrap modulo max_agents, as in the network.
  return jax.tree_util.tree_map(np.asarray, params)


def _fits(params: Any, ppo: PPOConfig, num_rates: int) -> bool:
  """Whether `params` are parameters of the network `ppo` describes."""
  # pylint: disable=g-import-not-at-top
  import jax
  from umd_meltingpot.ppo import checkpoint as checkpoint_lib
  from umd_meltingpot.agents.ppo import networks as networks_lib
  # pylint: enable=g-import-not-at-top
  template = networks_lib.make_networks_from_config(ppo, num_rates).init(
      jax.random.PRNGKey(0))
  try:
    checkpoint_lib.check_params(params, template, "")
  except ValueError:
    return False
  return True


def _restore(path: pathlib.Path, learner, actor, optimizer
             ) -> dict[str, int]:
  """Loads the checkpoint into the learner and actor; returns its counters.

  Raises:
    ValueError: the checkpoint is missing, corrupt or does not fit.
  """
  # pylint: disable=g-import-not-at-top
  import jax
  from umd_meltingpot.ppo import checkpoint as checkpoint_lib
  # pylint: enable=g-import-not-at-top
  loaded = checkpoint_lib.load(path)
  template = learner.save()
  checkpoint_lib.check_params(loaded.params, template.params, str(path))
  opt_state = checkpoint_lib.restore_opt_state(
      loaded.opt_state_leaves, optimizer.init(template.params), str(path))
  missing = {"learner", "actor"} - set(loaded.rng)
  if missing:
    raise ValueError(f"{path} lacks the PRNG keys {sorted(missing)}")
  counters = {"updates": 0, "env_steps": 0, "agent_steps": 0, "episodes": 0}
  counters.update(loaded.counters)
  learner.restore(template._replace(
      params=jax.tree_util.tree_map(np.asarray, loaded.params),
      opt_state=opt_state, random_key=loaded.rng["learner"],
      num_updates=np.int32(counters["updates"])))
  actor.random_key = loaded.rng["actor"]
  actor.update()
  return counters
