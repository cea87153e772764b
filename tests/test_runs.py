"""runs: run-folder naming and refusal, atomic writes, JSON-lines logs."""

import json
import os
import pathlib
import re

from absl.testing import absltest

from umd_meltingpot.plumbing import runs


class _Boom(Exception):
  pass


class RunFolderTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = pathlib.Path(self.create_tempdir().full_path)

  def test_default_folder_is_timestamped_under_runs(self):
    self.assertRegex(str(runs.default_folder("eval")),
                     r"^runs/eval-\d{8}-\d{6}$")
    self.assertRegex(str(runs.default_folder()), r"^runs/\d{8}-\d{6}$")

  def test_new_folder_creates_missing_and_accepts_empty(self):
    made = runs.new_folder(self.root / "a" / "b")
    self.assertTrue(made.is_dir())
    self.assertEqual(runs.new_folder(str(made)), made)  # Still empty.

  def test_default_new_folder_goes_under_runs(self):
    cwd = os.getcwd()
    os.chdir(self.root)
    try:
      made = runs.new_folder(None, kind="train")
    finally:
      os.chdir(cwd)
    self.assertTrue((self.root / made).is_dir())
    self.assertTrue(re.fullmatch(r"runs/train-\d{8}-\d{6}", str(made)))

  def test_non_empty_folder_or_a_file_is_refused(self):
    full = self.root / "full"
    full.mkdir()
    (full / "x").write_text("old")
    a_file = self.root / "file"
    a_file.write_text("")
    for out in (full, a_file):
      with self.subTest(out=out.name):
        with self.assertRaisesRegex(ValueError,
                                    "exists and is not empty; choose another "
                                    "--out"):
          runs.new_folder(out)
    self.assertEqual(os.listdir(full), ["x"])
    runs.check_new_folder(None)  # A default folder to come always passes.


class AtomicWriteTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = pathlib.Path(self.create_tempdir().full_path)

  def test_write_bytes_text_and_json(self):
    runs.write_bytes(self.root / "b.bin", b"\x00\x01")
    runs.write_text(self.root / "t.txt", "héllo\n")
    runs.write_json(self.root / "sub" / "j.json", {"b": 1, "a": [1.5]})
    self.assertEqual((self.root / "b.bin").read_bytes(), b"\x00\x01")
    self.assertEqual((self.root / "t.txt").read_text(encoding="utf-8"),
                     "héllo\n")
    self.assertEqual((self.root / "sub" / "j.json").read_text(),
                     '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n')
    self.assertEqual(sorted(os.listdir(self.root)),
                     ["b.bin", "sub", "t.txt"])

  def test_write_replaces_an_existing_file(self):
    path = self.root / "x.json"
    path.write_text("old")
    runs.write_json(path, [1])
    self.assertEqual(json.loads(path.read_text()), [1])

  def test_a_failing_writer_leaves_the_old_file_and_no_partial(self):
    path = self.root / "summary.png"
    path.write_text("old")
    with self.assertRaises(_Boom):
      with runs.atomic_path(path, suffix=".png") as partial:
        self.assertEqual(partial.name, "summary.png.partial.png")
        partial.write_text("half a fi")
        raise _Boom()
    self.assertEqual(path.read_text(), "old")
    self.assertEqual(os.listdir(self.root), ["summary.png"])

  def test_a_failing_writer_of_a_new_file_leaves_nothing(self):
    with self.assertRaises(_Boom):
      with runs.atomic_path(self.root / "new.npz") as partial:
        partial.write_bytes(b"half")
        raise _Boom()
    self.assertEqual(os.listdir(self.root), [])

  def test_the_destination_appears_only_when_the_block_ends(self):
    path = self.root / "late.txt"
    with runs.atomic_path(path) as partial:
      partial.write_text("done")
      self.assertFalse(path.exists())
    self.assertEqual(path.read_text(), "done")
    self.assertEqual(os.listdir(self.root), ["late.txt"])

  def test_a_leftover_partial_of_a_killed_run_is_overwritten(self):
    path = self.root / "config.json"
    runs.partial_path(path).write_text("left by a kill")
    runs.write_json(path, {})
    self.assertEqual(os.listdir(self.root), ["config.json"])

  def test_commit_renames_the_partial(self):
    path = self.root / "v.mp4"
    partial = runs.partial_path(path, suffix=".mp4")
    self.assertEqual(partial, self.root / "v.mp4.partial.mp4")
    partial.write_bytes(b"frames")
    runs.commit(partial, path)
    self.assertEqual(os.listdir(self.root), ["v.mp4"])
    self.assertEqual(path.read_bytes(), b"frames")


class JsonLinesTest(absltest.TestCase):

  def test_each_record_is_one_sorted_flushed_line(self):
    path = pathlib.Path(self.create_tempdir().full_path) / "m.jsonl"
    with runs.JsonLines(path) as log:
      log.write({"b": 2, "a": 1})
      # Flushed: readable before the log is closed.
      self.assertEqual(path.read_text(), '{"a": 1, "b": 2}\n')
      log.write({"c": None})
    self.assertEqual(path.read_text(), '{"a": 1, "b": 2}\n{"c": null}\n')

  def test_append_keeps_and_truncate_drops_earlier_lines(self):
    path = pathlib.Path(self.create_tempdir().full_path) / "m.jsonl"
    path.write_text('{"old": 1}\n')
    with runs.JsonLines(path) as log:
      log.write({"new": 1})
    self.assertEqual(path.read_text().splitlines(), ['{"old": 1}',
                                                     '{"new": 1}'])
    with runs.JsonLines(path, append=False) as log:
      log.write({"only": 1})
    self.assertEqual(path.read_text(), '{"only": 1}\n')


if __name__ == "__main__":
  absltest.main()
