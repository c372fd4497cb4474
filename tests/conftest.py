"""Test-session settings shared by every test file."""

import torch

# Small tensors: torch's thread pool costs more than it saves, and on a loaded 2-core
# machine its spin-waits turn microsecond ops into milliseconds.
torch.set_num_threads(1)
