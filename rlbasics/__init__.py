"""rlbasics: the core equations of policy-gradient RL as small, fast, tested code.

Notation (one glossary for the whole package)
---------------------------------------------
Time is zero-indexed. An episode has steps ``t = 0 … T−1``. At step t the agent sees s_t,
takes a_t, and *then* receives r_t (Spinning Up's convention; Sutton & Barto call the same
reward r_{t+1}). Time is the last axis of every array unless its name says otherwise.

=====================  =====================  ===========================================
symbol                 Python name            shape
=====================  =====================  ===========================================
r_t                    ``rewards``            ``[..., T]``
γ                      ``gamma``              scalar in [0, 1]
λ                      ``lam``                scalar in [0, 1]
G(τ) = Σ_t γ^t r_t     ``discounted_return``  ``[...]``
G_t = Σ_k γ^k r_{t+k}  ``rewards_to_go``      ``[..., T]``
V(s_t)                 ``values``             ``[..., T]``
V(s_{t+1}) at a cut    ``bootstrap``          scalar or ``[..., T]``
terminated after t     ``terminated``         ``[..., T]`` bool
truncated after t      ``truncated``          ``[..., T]`` bool
δ_t                    TD error               ``[..., T]``
A_t                    ``advantages``         ``[..., T]``
π_θ(a|s)               ``policy``             torch ``nn.Module``
log π_θ(a_t|s_t)       ``log_probs``          ``[..., T]``
J(θ) = E_τ[G(τ)]       ``expected_return``    scalar
=====================  =====================  ===========================================

A *terminated* step ends its episode in a terminal state: the future after it is worth 0.
A *truncated* step ends it early (a time limit): the future is V(s_{t+1}) when known.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rlbasics")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
