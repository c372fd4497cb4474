"""The ``rlbasics`` command (the application layer): train, eval, plot, sweep, envs, demo.

Only this module may import ``agents`` and ``envs``, and it does so inside its functions,
so ``rlbasics --help`` stays fast. Bad input is a one-line error on stderr and exit status 2,
found before any file is written; an interrupted training exits 128 + the signal (130 for
Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import inspect
import signal
import sys
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlbasics import __version__
from rlbasics.arguments import (
    COUNT,
    POSITIVE_INT,
    Parser,
    check_png,
    config_help,
    number,
    show_warning,
)

if TYPE_CHECKING:
    from rlbasics.training import Agent

AGENT_NAMES = ("reinforce",)


def get_agent(name: str) -> Agent:
    """The `rlbasics.training.Agent` called ``name`` (one of ``AGENT_NAMES``)."""
    from rlbasics.training import Agent

    if name == "reinforce":
        from agents import reinforce

        return Agent("reinforce", reinforce.ReinforceConfig, reinforce.Reinforce, reinforce.train)
    raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(AGENT_NAMES)}")


def _agent_help() -> str:
    return "\n\n".join(config_help(get_agent(name).config_cls, f"config fields of {name}")
                       for name in AGENT_NAMES)


def _sweep_help() -> str:
    """The sweep file's format: the first part of `rlbasics.sweep`'s docstring."""
    import rlbasics.sweep

    return rlbasics.sweep.__doc__.split("\n\n", 1)[1].split("\n\nEach trial", 1)[0]


def _contrast_help() -> str:
    from agents.contrast import ContrastConfig

    return config_help(ContrastConfig, "experiment fields")


def _resolve_env_id(env_id: str) -> str:
    """Our envs by their plain id (``rlbasics/GridWorld-v0``) as ``envs:rlbasics/...``, so
    that worker processes (and resumes) import the package that registers them."""
    import envs

    return f"envs:{env_id}" if env_id in envs.ENV_IDS else env_id


def _config_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The config from --config, --env and --set (later wins) as a dict of typed values."""
    from rlbasics.configs import parse_override, read_config

    values = dict(read_config(args.config)) if args.config else {}
    if getattr(args, "env", None) is not None:
        values["env_id"] = args.env
    for text in args.set:
        key, value = parse_override(cls, text)
        values[key] = value
    if "env_id" in values and isinstance(values["env_id"], str):
        values["env_id"] = _resolve_env_id(values["env_id"])
    return values


def _train(args: argparse.Namespace) -> int:
    from rlbasics.configs import config_from_dict
    from rlbasics.launch import exit_code, find_runs, format_summary, resume_runs, train_seeds
    from rlbasics.runs import RunDirectory
    from rlbasics.training import check_same_config

    agent = get_agent(args.agent)
    values = _config_values(agent.config_cls, args)
    options = {"workers": args.workers, "command": args.argv,
               "progress": sys.stderr.isatty() if args.progress is None else args.progress,
               "checkpoint_every": args.checkpoint_every,
               "checkpoint_seconds": args.checkpoint_seconds}
    if args.resume:
        if args.seeds is not None or args.out is not None:
            raise ValueError("--resume continues runs as they were: --seeds and --out do not "
                             "apply (the seed and folder are the run's)")
        for path in find_runs(args.resume):
            saved = RunDirectory(path).read_config(agent.config_cls)
            changed = {**dataclasses.asdict(saved), **values}
            try:
                check_same_config(saved, changed)
            except ValueError as error:
                raise ValueError(f"cannot resume {path}: {error}") from None
        runs = resume_runs(agent, args.resume, **options)
    else:
        if args.seeds is not None and "seed" in values:
            raise ValueError("give the seeds with --seeds or the config's seed, not both")
        config = config_from_dict(agent.config_cls, values)
        seeds = [config.seed] if args.seeds is None else args.seeds
        runs = train_seeds(agent, config, seeds, out=args.out or "runs", **options)
    print(format_summary(runs))
    code = exit_code(runs)
    if code >= 128:
        parents = sorted({str(run.path.parent) for run in runs if run.status != "finished"})
        print(f"interrupted ({signal.Signals(code - 128).name}): continue with `rlbasics train "
              f"--resume {' '.join(parents)}`", file=sys.stderr)
    return code


def _record_video(policy: Any, env_id: str, path: Path, *, deterministic: bool,
                  seed: int) -> None:
    """One episode of ``policy`` rendered to ``path`` with imageio (an optional dependency)."""
    import gymnasium as gym
    import imageio
    import torch

    env = gym.make(env_id, render_mode="rgb_array")
    generator = torch.Generator().manual_seed(seed)
    observation, _ = env.reset(seed=seed)
    try:
        frames, done = [env.render()], False
    except gym.error.DependencyNotInstalled as error:  # e.g. classic control needs pygame
        raise ValueError(f"--video cannot render {env_id}: {error}") from None
    while not done:
        with torch.inference_mode():
            if deterministic:
                action = policy.deterministic(observation[None])
            else:
                action, _ = policy.sample(observation[None], generator)
        observation, _, terminated, truncated, _ = env.step(policy.to_env(action)[0])
        frames.append(env.render())
        done = terminated or truncated
    env.close()
    imageio.mimsave(path, frames, fps=env.metadata.get("render_fps", 30))


def _eval(args: argparse.Namespace) -> int:
    from rlbasics.environments import evaluate
    from rlbasics.launch import find_runs, format_table
    from rlbasics.training import load_learner

    if args.video is not None:
        if importlib.util.find_spec("imageio") is None:
            raise ValueError("--video needs the optional package imageio (with an mp4 writer: "
                             "pip install imageio imageio-ffmpeg); it is not installed")
        if args.video.suffix.lower() not in (".mp4", ".gif"):
            raise ValueError(f"--video must end in .mp4 or .gif, got {args.video}")
        if args.video.suffix.lower() == ".mp4" and not any(
                importlib.util.find_spec(name) for name in ("imageio_ffmpeg", "av")):
            raise ValueError("--video to an .mp4 needs an ffmpeg backend of imageio (pip "
                             "install imageio-ffmpeg), which is not installed; or write a .gif")
    runs = find_runs(args.run_dirs)
    if args.video is not None and len(runs) > 1:
        raise ValueError(f"--video records one run; {len(runs)} were given")
    agent, rows = get_agent(args.agent), []
    for path in runs:
        learner, config, checkpoint = load_learner(agent, path)
        if checkpoint is None:
            raise ValueError(f"run {path} has no checkpoint yet: nothing to evaluate")
        returns = evaluate(learner.policy, config.env_id, args.episodes,
                           deterministic=args.deterministic, seed=args.seed)
        rows.append([str(path), str(learner.updates), str(learner.env_steps),
                     f"{returns.mean():.1f}", f"{returns.std():.1f}", f"{returns.min():.1f}",
                     f"{returns.max():.1f}"])
        if args.video is not None:
            _record_video(learner.policy, config.env_id, args.video,
                          deterministic=args.deterministic, seed=args.seed)
    policy = "greedy" if args.deterministic else "stochastic"
    print(f"{args.episodes} episodes per run, {policy} policy, seed {args.seed}")
    print(format_table(["run", "updates", "env steps", "mean", "std", "min", "max"], rows))
    if args.video is not None:
        print(f"video: {args.video}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from rlbasics.plotting import plot_returns, save_figure

    check_png(args.out)
    figure = plot_returns(args.run_dirs, x=args.x, group_by=args.group_by or None,
                          statistic=args.statistic, smoothing=args.smoothing, final=args.final)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for path in save_figure(figure, args.out, svg=args.svg):
        print(f"wrote {path}")
    return 0


def _contrast(args: argparse.Namespace) -> int:
    from agents.contrast import ContrastConfig, run_contrast
    from rlbasics.configs import config_from_dict
    from rlbasics.plotting import save_figure
    from rlbasics.runs import atomic_write_text

    config = config_from_dict(ContrastConfig, _config_values(ContrastConfig, args))
    check_png(args.out)
    result = run_contrast(config, progress=sys.stderr.isatty() if args.progress is None
                          else args.progress)
    table = result.table()
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for path in [*save_figure(result.figure(), args.out),
                 atomic_write_text(args.out.with_suffix(".txt"), table + "\n")]:
        print(f"wrote {path}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from rlbasics.launch import exit_code
    from rlbasics.sweep import read_sweep, run_sweep
    from rlbasics.sweep_summary import format_trials, summary

    if args.summary is not None:
        given = [name for name, value in (("SWEEP.toml", args.sweep_file),
                                          ("--backend", args.backend),
                                          ("--address", args.address),
                                          ("--max-parallel", args.max_parallel),
                                          ("--out", args.out)) if value is not None]
        if given:
            raise ValueError(f"--summary reads a sweep folder; {', '.join(given)} do not apply")
        result = summary(args.summary, group_by=args.group_by)
        print(result.table())
        print(f"wrote {result.write_csv()}")
        return 0
    if args.sweep_file is None:
        raise ValueError("give a sweep file to run, or --summary SWEEP_DIR")
    if args.group_by is not None:
        raise ValueError("--group-by applies to --summary SWEEP_DIR")
    spec = read_sweep(args.sweep_file, out=args.out, resolve_env_id=_resolve_env_id)
    runs = run_sweep(get_agent(spec.agent), spec, backend=args.backend or "local",
                     address=args.address, max_parallel=args.max_parallel, command=args.argv,
                     progress=sys.stderr.isatty() if args.progress is None else args.progress)
    print(format_trials(spec, runs))
    if any(run.status == "finished" for run in runs):
        result = summary(spec.out)
        print(f"\n{result.table()}\nwrote {result.write_csv()}")
    code = exit_code(runs)
    if code >= 128:
        print(f"interrupted ({signal.Signals(code - 128).name}): run the same command again "
              "to continue", file=sys.stderr)
    return code


def _envs(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import envs

    print("rlbasics environments (train with --env ID):")
    for env_id in envs.ENV_IDS:
        module = importlib.import_module(gym.spec(env_id).entry_point.partition(":")[0])
        summary = inspect.cleandoc(module.__doc__ or "-").splitlines()[0]
        print(f"  {env_id:28} {summary}")
    others = sorted(env_id for env_id in gym.registry if env_id not in envs.ENV_IDS)
    print(f"\nGymnasium environments ({len(others)}):")
    print(textwrap.fill("  ".join(others), width=100, initial_indent="  ",
                        subsequent_indent="  ", break_on_hyphens=False))
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Sample one CartPole-v1 episode with a random policy and print its returns."""
    import gymnasium as gym
    import numpy as np

    from rlbasics.returns import discounted_return, rewards_to_go

    env = gym.make("CartPole-v1")
    env.action_space.seed(args.seed)
    env.reset(seed=args.seed)
    rewards = []
    done = False
    while not done:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        rewards.append(reward)
        done = terminated or truncated
    env.close()
    rewards = np.asarray(rewards)
    togo = rewards_to_go(rewards, args.gamma)
    print(f"CartPole-v1, random policy, seed {args.seed}: {len(rewards)} steps")
    print(f"G(tau) = sum_t gamma^t r_t with gamma={args.gamma}: "
          f"{discounted_return(rewards, args.gamma):.4f}")
    print(f"undiscounted return: {rewards.sum():.1f}")
    shown = np.array2string(togo[:5], precision=3, separator=", ")
    print(f"rewards-to-go G_t, first steps: {shown} ... last: {togo[-1]:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rlbasics",
        description="A reinforcement-learning playground: train, evaluate and plot "
        "policy-gradient agents.",
    )
    parser.add_argument("--version", action="version", version=f"rlbasics {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train an agent for one or more seeds (or --resume runs)",
        description=textwrap.fill(
            "Train an agent, one run directory per seed: <out>/<env>-<agent>-<config hash>/"
            "seed-<k>/ with config.toml, meta.json, episodes.csv, updates.csv, eval.csv and "
            "checkpoints/. Ctrl-C stops at the next update with a checkpoint; --resume (or "
            "the same command again) continues exactly.", width=90),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog_factory=_agent_help,
    )
    train.add_argument("--agent", choices=AGENT_NAMES, default="reinforce",
                       help="the algorithm (default: reinforce)")
    train.add_argument("--env", help="environment id (default: the config's, CartPole-v1); "
                       "see `rlbasics envs`")
    train.add_argument("--seeds", type=int, nargs="+", metavar="K",
                       help="one run per seed, in parallel (default: the config's seed, 0)")
    train.add_argument("--config", type=Path, metavar="FILE",
                       help="a TOML file of config values (a run's config.toml works)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="set a config field (repeatable; fields listed below)")
    train.add_argument("--out", type=Path, help="folder of the run directories (default: runs)")
    train.add_argument("--workers", type=POSITIVE_INT,
                       help="parallel processes (default: the number of CPU cores)")
    train.add_argument("--resume", type=Path, nargs="+", metavar="RUN_DIR",
                       help="continue these runs (or every run below these folders)")
    train.add_argument("--checkpoint-every", type=COUNT, default=0, metavar="N",
                       help="also checkpoint every N updates (default: 0, by time only)")
    train.add_argument("--checkpoint-seconds", type=number(float, 0, "a number >= 0"),
                       default=10.0, metavar="S",
                       help="checkpoint after S seconds of wall time (default: 10)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction,
                       help="progress bars (default: when stderr is a terminal)")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser(
        "eval", help="evaluate the latest checkpoint of runs",
        description="Evaluate each run's latest checkpoint on freshly seeded envs.")
    evaluate.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                          help="run directories, or folders holding them")
    evaluate.add_argument("--agent", choices=AGENT_NAMES, default="reinforce",
                          help="the algorithm of the runs (default: reinforce)")
    evaluate.add_argument("--episodes", type=POSITIVE_INT, default=20,
                          help="episodes per run (default: 20)")
    policy = evaluate.add_mutually_exclusive_group()
    policy.add_argument("--deterministic", dest="deterministic", action="store_true",
                        default=True, help="greedy actions: argmax / mean (the default)")
    policy.add_argument("--stochastic", dest="deterministic", action="store_false",
                        help="sample actions from the policy")
    evaluate.add_argument("--seed", type=COUNT, default=1_000_000,
                          help="seed of the eval envs (default: 1000000, unlike training's)")
    evaluate.add_argument("--video", type=Path, metavar="OUT.mp4",
                          help="also record one episode (needs the optional imageio)")
    evaluate.set_defaults(handler=_eval)

    plot = commands.add_parser(
        "plot", help="plot learning curves across seeds",
        description="Learning curves: per group, the IQM (or mean) across seeds with a 95%% "
        "stratified-bootstrap band, and the final performance per group.")
    plot.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                      help="run directories, or folders holding them")
    plot.add_argument("--out", type=Path, default=Path("returns.png"),
                      help="PNG file (default: returns.png)")
    plot.add_argument("--x", choices=("steps", "episodes", "time"), default="steps",
                      help="x axis (default: steps)")
    plot.add_argument("--group-by", nargs="+", metavar="FIELD",
                      help="config fields whose values make one curve each")
    plot.add_argument("--statistic", choices=("iqm", "mean"), default="iqm",
                      help="across seeds (default: iqm)")
    plot.add_argument("--smoothing", metavar="ma:W|ema:B",
                      help="smooth each run's returns first, e.g. ma:20")
    plot.add_argument("--final", action="store_true",
                      help="only the final-performance panel")
    plot.add_argument("--svg", action="store_true", help="also write an SVG beside the PNG")
    plot.set_defaults(handler=_plot)

    contrast = commands.add_parser(
        "contrast", help="the MLE-vs-RL experiment: behaviour cloning against REINFORCE",
        description=textwrap.fill(
            "Behaviour cloning on corrupted and on few expert demonstrations, REINFORCE from "
            "scratch, and reward-weighted cloning, on CartPole-v1: a table (mean ± 95% "
            "interval over seeds) and a figure.", width=90),
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog_factory=_contrast_help)
    contrast.add_argument("--config", type=Path, metavar="FILE",
                          help="a TOML file of experiment values")
    contrast.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="set an experiment field (repeatable; fields listed below)")
    contrast.add_argument("--out", type=Path, default=Path("contrast.png"),
                          help="the figure; the table goes beside it as .txt "
                          "(default: contrast.png)")
    contrast.add_argument("--progress", action=argparse.BooleanOptionalAction,
                          help="a progress bar (default: when stderr is a terminal)")
    contrast.set_defaults(handler=_contrast)

    sweep = commands.add_parser(
        "sweep", help="run a sweep of configs x seeds (or summarise one)",
        description=textwrap.fill(
            "Run every trial (config x seed) of a sweep file, each an ordinary run directory "
            "in the sweep folder beside a sweep.json index; the same command again skips "
            "finished trials and resumes the others. --summary tabulates the final "
            "performance per group (IQM and 95% bootstrap CI) and writes it as CSV.",
            width=90),
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog_factory=_sweep_help)
    sweep.add_argument("sweep_file", type=Path, nargs="?", metavar="SWEEP.toml",
                       help="the sweep to run (examples in sweeps/)")
    sweep.add_argument("--backend", choices=("local", "ray"),
                       help="local: a process pool (the default); ray: Ray tasks "
                       "(pip install 'rlbasics[ray]')")
    sweep.add_argument("--address", metavar="ADDR",
                       help="a running Ray cluster (e.g. auto); default: start a local one")
    sweep.add_argument("--max-parallel", type=POSITIVE_INT, metavar="N",
                       help="trials at once (default: the CPU cores; with --address, as "
                       "the cluster schedules)")
    sweep.add_argument("--out", type=Path, metavar="DIR",
                       help="the sweep folder (default: the file's `out`, else runs/<stem>)")
    sweep.add_argument("--progress", action=argparse.BooleanOptionalAction,
                       help="progress bars (default: when stderr is a terminal)")
    sweep.add_argument("--summary", type=Path, metavar="SWEEP_DIR",
                       help="print and write (as CSV) the final performance per group")
    sweep.add_argument("--group-by", nargs="+", metavar="FIELD",
                       help="with --summary: config fields of the groups (default: the "
                       "swept ones)")
    sweep.set_defaults(handler=_sweep)

    commands.add_parser(
        "envs", help="list the rlbasics and Gymnasium environments"
    ).set_defaults(handler=_envs)

    demo = commands.add_parser(
        "demo", help="print G(tau) and the rewards-to-go of a random CartPole-v1 episode"
    )
    demo.add_argument("--seed", type=int, default=0, help="episode seed (default: 0)")
    demo.add_argument("--gamma", type=float, default=0.99, help="discount (default: 0.99)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    args.argv = ["rlbasics", *(sys.argv[1:] if argv is None else argv)]
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return args.handler(args)
        except ValueError as error:  # ConfigError, RunRefused, CheckpointError, bad paths
            print(f"rlbasics {args.command}: error: {' '.join(str(error).split())}",
                  file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
