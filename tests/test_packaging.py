"""The installed layout: one import name, Lua as package data, entry points."""

import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  out = tmp_path_factory.mktemp("wheel")
  subprocess.run(
      [sys.executable, "-m", "pip", "wheel", "--no-deps",
       "--no-build-isolation", "--quiet", "-w", str(out), str(_ROOT)],
      check=True, timeout=300)
  (path,) = out.glob("umd_meltingpot-*.whl")
  return path


def test_wheel_installs_one_import_name(wheel):
  names = zipfile.ZipFile(wheel).namelist()
  top_level = {name.split("/")[0] for name in names
               if not name.split("/")[0].endswith(".dist-info")}
  assert top_level == {"umd_meltingpot"}
  for required in ("umd_meltingpot/lua/levels/umd_apple_harvest/init.lua",
                   "umd_meltingpot/lua/levels/umd_apple_harvest/"
                   "components.lua",
                   "umd_meltingpot/substrates/umd_apple_harvest.py",
                   "umd_meltingpot/agents/bots.py"):
    assert required in names


def test_installed_wheel_builds_and_steps_a_substrate(wheel, tmp_path):
  target = tmp_path / "site"
  subprocess.run(
      [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
       "--target", str(target), str(wheel)], check=True, timeout=300)
  script = (
      "import umd_meltingpot, sys\n"
      "assert umd_meltingpot.__file__.startswith(sys.argv[1]), "
      "umd_meltingpot.__file__\n"
      "from umd_meltingpot import substrate\n"
      "env = substrate.build('umd_apple_harvest__small', "
      "roles=['default'] * 4, env_seed=1)\n"
      "env.reset(); env.step([0] * 4)\n"
      "import importlib.util\n"
      "for bare in ('agents', 'substrates'):\n"
      "  assert importlib.util.find_spec(bare) is None, bare\n"
      "print('ok')\n")
  env = dict(os.environ, PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, "-c", script, str(target)], cwd=tmp_path, env=env,
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().endswith("ok")


def test_substrates_are_discoverable_through_the_entry_point_group():
  (entry,) = importlib.metadata.entry_points(
      group="umd_meltingpot.substrates", name="umd_apple_harvest")
  names = entry.load()
  assert "umd_apple_harvest__open" in names


def test_no_installed_module_imports_experiments_or_benchmarks():
  # They are not installed (issue 10 §4): an import would fail in a wheel.
  imports = re.compile(r"^\s*(from|import)\s+(experiments|benchmarks)\b",
                       re.MULTILINE)
  for folder in ("umd_meltingpot", "agents", "substrates"):
    for path in sorted((_ROOT / folder).rglob("*.py")):
      assert not imports.search(path.read_text(encoding="utf-8")), path
