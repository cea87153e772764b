"""Install umd-meltingpot as the single import name `umd_meltingpot`.

`substrates/` and `agents/` live at the repository top level (the project's
design card) but install as `umd_meltingpot.substrates` and
`umd_meltingpot.agents`; `lua/` ships as package data under
`umd_meltingpot.lua`. No bare `agents` or `substrates` module is installed.
"""

import os

import setuptools

_ROOT = os.path.dirname(os.path.abspath(__file__))


def _subpackages(folder: str, prefix: str) -> list[str]:
  """Python packages under `folder`, named as they install under `prefix`."""
  found = setuptools.find_packages(os.path.join(_ROOT, folder))
  return [prefix] + [f"{prefix}.{name}" for name in found]


setuptools.setup(
    name="umd-meltingpot",
    version="0.1.0",
    description=("The Universal Mechanism Design game (vote, tax, play) as a "
                 "Melting Pot substrate plugin."),
    long_description=open(os.path.join(_ROOT, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=(
        _subpackages("umd_meltingpot", "umd_meltingpot")
        + _subpackages("substrates", "umd_meltingpot.substrates")
        + _subpackages("agents", "umd_meltingpot.agents")
        + ["umd_meltingpot.lua"]
    ),
    package_dir={
        "umd_meltingpot": "umd_meltingpot",
        "umd_meltingpot.substrates": "substrates",
        "umd_meltingpot.agents": "agents",
        "umd_meltingpot.lua": "lua",
    },
    package_data={
        "umd_meltingpot.lua": ["levels/*/*.lua"],
        "umd_meltingpot.agents": ["checkpoints/*"],
    },
    include_package_data=False,
    install_requires=[
        "dmlab2d",
        "dm-meltingpot>=2.4.1",
        "dm-env",
        "dm-tree",
        "dm-acme",
        "tensorflow",
        "tensorboardX",
        "ml-collections",
        "jax",
        "optax",
        "pref-voting",
        "prefsampling",
        "cma",
        "optuna",
        "imageio-ffmpeg",
        "ray",
        "pettingzoo",
        "gymnasium",
        "scipy",
        "matplotlib",
        "tqdm",
    ],
    extras_require={"dev": ["pytest", "pytest-xdist", "hypothesis"]},
    entry_points={
        "console_scripts": ["umd=umd_meltingpot.cli:main"],
        "umd_meltingpot.substrates": [
            "umd_apple_harvest=umd_meltingpot.substrate:SUBSTRATES",
        ],
    },
)
