"""A slippery grid world with a goal and a pit (Russell & Norvig's 4×3 world by default)."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from envs._validate import finite_number
from envs.tabular import TabularMDP

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
# Clockwise order, so the two directions perpendicular to a are (a ± 1) mod 4.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))

# Russell & Norvig, Artificial Intelligence: A Modern Approach (3rd ed.), Fig. 17.1.
RUSSELL_NORVIG_4X3 = (
    "...G",
    ".#.P",
    "S...",
)
CELL_KINDS = ".#SGP"


class GridWorldEnv(TabularMDP):
    """
    ## Description

    A grid of cells given as strings: ``.`` free, ``#`` wall, ``S`` start, ``G`` goal, ``P``
    pit. Moves are slippery: the intended move happens with probability 1 − ``slip`` and each
    of the two perpendicular moves with probability ``slip``/2; a move into a wall or off the
    grid leaves the agent where it is. The default is Russell & Norvig's 4×3 world
    (AIMA 3rd ed., Fig. 17.1–17.3):

        . . . G
        . # . P
        S . . .

    whose optimal values with γ = 1 are published (start: 0.705). Episodes last tens of steps
    and the step cost makes early and late rewards differ, so reward-to-go and baselines
    matter; with 11 states the exact solution is one linear solve.

    ## Action Space

    ``Discrete(4)``: 0 = up, 1 = right, 2 = down, 3 = left.

    ## Observation Space

    ``Discrete(S)``: the index of the agent's cell among the non-wall cells, counted row by
    row from the top left. ``env.unwrapped.cells[s]`` is the (row, column) of state s.

    ## Rewards

    ``step_reward`` (−0.04) on every step, plus ``goal_reward`` (+1) on the step that enters
    a goal and ``pit_reward`` (−1) on the step that enters a pit. (This matches R&N's reward
    R(s) = −0.04 per non-terminal state and ±1 utility of the terminal states.)

    ## Starting State

    Uniform over the ``S`` cells.

    ## Episode End

    ### Termination
    Entering a goal or a pit.

    ### Truncation
    ``gym.make("rlbasics/GridWorld-v0")`` truncates at 100 steps. Exact values assume no time
    limit. With ``slip = 0`` a deterministic policy can walk into a wall forever; at γ = 1
    its value is then −∞.

    ## Arguments

    | Parameter     | Type          | Default              | Description                        |
    |---------------|---------------|----------------------|------------------------------------|
    | `layout`      | sequence[str] | `RUSSELL_NORVIG_4X3` | equal-length rows of `.#SGP`       |
    | `slip`        | float         | 0.2                  | P(perpendicular move), in [0, 1]   |
    | `step_reward` | float         | -0.04                | paid on every step                 |
    | `goal_reward` | float         | 1.0                  | added on entering a goal           |
    | `pit_reward`  | float         | -1.0                 | added on entering a pit            |
    | `render_mode` | str or None   | None                 | "ansi": ``render()`` returns text  |

    >>> env = GridWorldEnv(render_mode="ansi")
    >>> env.reset(seed=0)
    (7, {'state': 7})
    >>> env.render().splitlines()  # A marks the agent
    ['...G', '.#.P', 'A...']

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(
        self,
        layout: Sequence[str] = RUSSELL_NORVIG_4X3,
        *,
        slip: float = 0.2,
        step_reward: float = -0.04,
        goal_reward: float = 1.0,
        pit_reward: float = -1.0,
        render_mode: str | None = None,
    ) -> None:
        layout = _check_layout(layout)
        slip = finite_number("slip", slip)
        if not 0 <= slip <= 1:
            raise ValueError(f"slip must be in [0, 1], got {slip}")
        step_reward = finite_number("step_reward", step_reward)
        goal_reward = finite_number("goal_reward", goal_reward)
        pit_reward = finite_number("pit_reward", pit_reward)
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.layout = layout
        self.render_mode = render_mode
        self.cells = tuple(
            (row, col)
            for row, line in enumerate(layout)
            for col, kind in enumerate(line)
            if kind != "#"
        )
        state_of = {cell: state for state, cell in enumerate(self.cells)}
        kinds = np.array([layout[row][col] for row, col in self.cells])
        n_states = len(self.cells)

        transitions = np.zeros((n_states, 4, n_states))
        for state, (row, col) in enumerate(self.cells):
            for action in range(4):
                for direction, probability in (
                    (action, 1 - slip),
                    ((action + 1) % 4, slip / 2),
                    ((action - 1) % 4, slip / 2),
                ):
                    d_row, d_col = MOVES[direction]
                    # Walls and the edge of the grid are not in state_of: the agent stays.
                    next_state = state_of.get((row + d_row, col + d_col), state)
                    transitions[state, action, next_state] += probability
        arrival = np.where(kinds == "G", goal_reward, 0.0) + np.where(kinds == "P", pit_reward, 0.0)
        rewards = np.broadcast_to(step_reward + arrival, transitions.shape)
        starts = kinds == "S"
        super().__init__(
            transitions,
            rewards,
            initial=starts / starts.sum(),
            terminal=(kinds == "G") | (kinds == "P"),
            observe="state",
        )

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; use render_mode='ansi'")
            return None
        rows = [list(line) for line in self.layout]
        if self.state is not None:
            row, col = self.cells[self.state]
            rows[row][col] = "A"
        return "".join("".join(row) + "\n" for row in rows)


def _check_layout(layout: Sequence[str]) -> tuple[str, ...]:
    if (
        isinstance(layout, str)
        or not isinstance(layout, Sequence)
        or not all(isinstance(line, str) for line in layout)
    ):
        raise TypeError(
            f"layout must be a sequence of strings (one per row), got {type(layout).__name__}"
        )
    layout = tuple(layout)
    if not layout or len({len(line) for line in layout}) != 1 or not layout[0]:
        raise ValueError(f"layout must be non-empty rows of equal length, got {layout}")
    unknown = set("".join(layout)) - set(CELL_KINDS)
    if unknown:
        raise ValueError(
            f"layout may contain only {CELL_KINDS!r} (free, wall, start, goal, pit), "
            f"got {sorted(unknown)}"
        )
    if "S" not in "".join(layout):
        raise ValueError("layout must contain at least one start cell 'S'")
    return layout
