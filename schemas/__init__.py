"""Pandera models of every frame that crosses a module boundary.

Each model's docstring says where the frame comes from and what one row is. Internal field
names are English; the Chinese headers they come from are in `config/default.toml`.
"""

from schemas.inputs import *  # noqa: F401,F403
from schemas.links import *  # noqa: F401,F403
from schemas.outputs import *  # noqa: F401,F403
