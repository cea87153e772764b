"""The installed layout: one import name, Lua as package data, entry points."""

import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile

from absl.testing import absltest

from umd_meltingpot import substrate

_ROOT = pathlib.Path(__file__).resolve().parents[1]


class WheelTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # One wheel for the class: building it takes a while.
    folder = tempfile.TemporaryDirectory()
    cls.addClassCleanup(folder.cleanup)
    out = pathlib.Path(folder.name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--no-build-isolation", "--quiet", "-w", str(out), str(_ROOT)],
        check=True, timeout=300)
    (cls.wheel,) = out.glob("umd_meltingpot-*.whl")

  def test_wheel_installs_one_import_name(self):
    names = zipfile.ZipFile(self.wheel).namelist()
    top_level = {name.split("/")[0] for name in names
                 if not name.split("/")[0].endswith(".dist-info")}
    self.assertEqual(top_level, {"umd_meltingpot"})
    for required in ("umd_meltingpot/lua/levels/umd_apple_harvest/init.lua",
                     "umd_meltingpot/lua/levels/umd_apple_harvest/"
                     "components.lua",
                     "umd_meltingpot/substrates/umd_apple_harvest.py",
                     "umd_meltingpot/agents/bots.py"):
      self.assertIn(required, names)

  def test_installed_wheel_builds_and_steps_a_substrate(self):
    tmp_path = pathlib.Path(self.create_tempdir())
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
         "--target", str(target), str(self.wheel)], check=True, timeout=300)
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
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertEndsWith(result.stdout.strip(), "ok")


class SourceTest(absltest.TestCase):

  def test_substrates_are_discoverable_through_the_entry_point_group(self):
    (entry,) = importlib.metadata.entry_points(
        group="umd_meltingpot.substrates", name="umd_apple_harvest")
    # The group hands out the substrate registry itself.
    self.assertIs(entry.load(), substrate.SUBSTRATES)

  def test_no_installed_module_imports_experiments_or_benchmarks(self):
    # They are not installed (issue 10 §4): an import would fail in a wheel.
    imports = re.compile(r"^\s*(from|import)\s+(experiments|benchmarks)\b",
                         re.MULTILINE)
    for folder in ("umd_meltingpot", "agents", "substrates"):
      for path in sorted((_ROOT / folder).rglob("*.py")):
        self.assertIsNone(imports.search(path.read_text(encoding="utf-8")),
                          path)


if __name__ == "__main__":
  absltest.main()
