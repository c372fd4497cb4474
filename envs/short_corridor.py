"""Sutton & Barto's short corridor with switched actions (Example 13.1)."""

from __future__ import annotations

import numpy as np

from envs.tabular import TabularMDP

LEFT, RIGHT = 0, 1


class ShortCorridorEnv(TabularMDP):
    """
    ## Description

    Sutton & Barto (2018), *Reinforcement Learning: An Introduction*, 2nd ed., Example 13.1.
    A corridor of three cells and a goal on the right:

        [0] [1] [2] [G]
         ^start

    In cell 1 the actions are reversed: "right" moves left and "left" moves right. All
    cells look the same to the agent, so a policy is just p = P(right). No deterministic
    policy reaches the goal from every cell (always-right loops between cells 0 and 1;
    always-left never leaves cell 0), and the best policy is stochastic. The exact start
    value of the policy P(right) = p is

        J(p) = V(0) = (2p − 4) / (p (1 − p)),

    maximised at p = 2 − √2 ≈ 0.586 with J ≈ −11.66 (the derivation solves the three Bellman
    equations V(0) = −1 + p V(1) + (1 − p) V(0), V(1) = −1 + p V(0) + (1 − p) V(2),
    V(2) = −1 + (1 − p) V(1)).

    ## Action Space

    ``Discrete(2)``: 0 = left, 1 = right. Moving left from cell 0 bumps into the wall (stay).

    ## Observation Space

    ``Discrete(1)``, always 0 (``observe="none"``, the book's version). With
    ``observe="state"`` it is ``Discrete(4)``, the cell index, and the problem becomes easy:
    the best deterministic policy reaches the goal in 3 steps (J = −3).

    ## Rewards

    −1 per step, including the step that reaches the goal.

    ## Starting State

    Cell 0.

    ## Episode End

    ### Termination
    Reaching the goal (state 3).

    ### Truncation
    ``gym.make("rlbasics/ShortCorridor-v0")`` truncates at 1000 steps (a policy with p
    near 0 or 1 may take thousands). J(p) above assumes no time limit.

    ## Arguments

    | Parameter | Type  | Default | Description                                  |
    |-----------|-------|---------|----------------------------------------------|
    | `observe` | str   | "none"  | "none" (book: cells look alike) or "state"   |

    ``model()`` (from ``TabularMDP``) returns the exact arrays.

    >>> import gymnasium as gym
    >>> import envs
    >>> env = gym.make("rlbasics/ShortCorridor-v0")
    >>> env.reset(seed=0)
    (0, {'state': 0})
    >>> env.step(1)  # right, from cell 0 to cell 1: looks the same
    (0, -1.0, False, False, {'state': 1})

    ## Version History

    * v0: Initial version.
    """

    def __init__(self, observe: str = "none") -> None:
        goal = 3
        moves = {  # (cell, action) -> next cell
            (0, LEFT): 0,
            (0, RIGHT): 1,
            (1, LEFT): 2,  # reversed
            (1, RIGHT): 0,  # reversed
            (2, LEFT): 1,
            (2, RIGHT): goal,
        }
        transitions = np.zeros((4, 2, 4))
        for (cell, action), next_cell in moves.items():
            transitions[cell, action, next_cell] = 1.0
        transitions[goal, :, goal] = 1.0
        super().__init__(
            transitions,
            rewards=np.full((4, 2), -1.0),
            initial=[1.0, 0.0, 0.0, 0.0],
            terminal=np.arange(4) == goal,
            observe=observe,
        )
