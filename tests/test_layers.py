"""The layers hold: import-linter's contracts (.importlinter) on the package
as it installs, and they break when a back-import is added."""

import pathlib
import tempfile

from absl.testing import absltest

from tools import import_graph


class LayersTest(absltest.TestCase):

  def _lint(self, edit=None):
    with tempfile.TemporaryDirectory() as folder:
      staged = import_graph.stage(pathlib.Path(folder))
      if edit is not None:
        edit(staged / "umd_meltingpot")
      return import_graph.lint(staged)

  def test_contracts_are_kept(self):
    result = self._lint()
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    self.assertIn("1 kept, 0 broken", result.stdout)

  def test_stage_sees_agents_and_substrates_as_installed(self):
    with tempfile.TemporaryDirectory() as folder:
      package = import_graph.stage(pathlib.Path(folder)) / "umd_meltingpot"
      self.assertTrue((package / "agents" / "bots.py").is_file())
      self.assertTrue((package / "substrates" / "umd_apple_harvest.py")
                      .is_file())

  def _append(self, module: str, line: str):
    def edit(package: pathlib.Path):
      path = package / module
      path.write_text(import_graph.expose_lazy_imports(
          path.read_text() + f"\n{line}\n"))
    return edit

  def test_a_back_import_breaks_the_contract(self):
    # The bots may not import the game: the game is handed a bot factory.
    result = self._lint(self._append(
        "agents/bots.py", "from umd_meltingpot.game import loop"))
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("umd_meltingpot.agents is not allowed to import "
                  "umd_meltingpot.game", result.stdout)

  def test_plumbing_may_not_import_a_layer_above(self):
    result = self._lint(self._append(
        "plumbing/runs.py", "from umd_meltingpot.social_choice import welfare"))
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("umd_meltingpot.plumbing is not allowed to import "
                  "umd_meltingpot.social_choice", result.stdout)

  def test_a_lazy_back_import_counts(self):
    result = self._lint(self._append(
        "principal/fixed.py",
        'from umd_meltingpot.plumbing import lazy\n'
        'loop = lazy.module("umd_meltingpot.game.loop")'))
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("umd_meltingpot.principal is not allowed to import "
                  "umd_meltingpot.game", result.stdout)

  def test_layers_are_read_top_first(self):
    rows = import_graph.layers()
    self.assertEqual(rows[0], ["cli"])
    self.assertEqual(rows[-1], ["plumbing"])
    self.assertIn(["agents", "game"], rows)


if __name__ == "__main__":
  absltest.main()
