"""The ``rlbasics`` command (the application layer).

Only this module may import ``agents`` and ``envs``, and it does so inside its commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rlbasics import __version__


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
    parser = argparse.ArgumentParser(
        prog="rlbasics",
        description="A reinforcement-learning playground: train, evaluate and plot "
        "policy-gradient agents.",
    )
    parser.add_argument("--version", action="version", version=f"rlbasics {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
