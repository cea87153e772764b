"""checkpoint_format: the pickle-free npz + JSON container of checkpoints."""

import json
import os
import pathlib

from absl.testing import absltest
import numpy as np

from umd_meltingpot.plumbing import checkpoint_format


class CheckpointFormatTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = pathlib.Path(self.create_tempdir().full_path)
    self.path = self.folder / "sub" / "c.npz"

  def test_round_trip_of_arrays_documents_and_sidecar(self):
    checkpoint_format.save(
        self.path, {"w/a": np.arange(3.0), "n": np.int64(4)},
        documents={"config": {"b": [1, 2], "a": None}},
        sidecar={"readable": True})
    arrays = checkpoint_format.load(self.path, required=("config",))
    np.testing.assert_array_equal(arrays["w/a"], [0.0, 1.0, 2.0])
    self.assertEqual(int(arrays["n"]), 4)
    self.assertEqual(checkpoint_format.read_json(arrays, "config", self.path),
                     {"a": None, "b": [1, 2]})
    self.assertEqual(checkpoint_format.group(arrays, "w"),
                     {"a": arrays["w/a"]})
    self.assertEqual(json.loads(self.path.with_suffix(".json").read_text()),
                     {"readable": True})
    self.assertEqual(sorted(os.listdir(self.path.parent)),
                     ["c.json", "c.npz"])

  def test_object_arrays_are_refused_before_anything_is_written(self):
    with self.assertRaisesRegex(ValueError, "without pickle.*'x'"):
      checkpoint_format.save(self.path, {"x": np.array([{}, 1], dtype=object)},
                             documents={}, sidecar={})
    self.assertFalse(self.path.parent.exists() and
                     any(self.path.parent.iterdir()))

  def test_a_name_used_twice_is_refused(self):
    with self.assertRaisesRegex(ValueError, "both"):
      checkpoint_format.save(self.path, {"config": 1},
                             documents={"config": {}}, sidecar={})

  def test_a_pickled_archive_is_not_read(self):
    # np.savez pickles object arrays; loading must refuse to unpickle.
    pickled = self.folder / "pickled.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object))
    with self.assertRaisesRegex(ValueError, "not a readable checkpoint"):
      checkpoint_format.load(pickled)

  def test_missing_unreadable_and_incomplete_files_raise(self):
    with self.assertRaisesRegex(ValueError, "No principal checkpoint at"):
      checkpoint_format.load(self.folder / "none.npz",
                             what="principal checkpoint")
    garbage = self.folder / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with self.assertRaisesRegex(ValueError, "not a readable checkpoint"):
      checkpoint_format.load(garbage)
    lone = self.folder / "lone.npy"
    np.save(lone, np.zeros(2))
    with self.assertRaisesRegex(ValueError, "not an .npz archive"):
      checkpoint_format.load(lone)
    other = self.folder / "other.npz"
    np.savez(other, x=np.zeros(2))
    with self.assertRaisesRegex(ValueError,
                                r"not a checkpoint \(no format or config\)"):
      checkpoint_format.load(other, required=("format", "config"))

  def test_corrupt_document_and_other_format_raise(self):
    checkpoint_format.save(self.path, {"config": np.array("{not json")},
                           documents={}, sidecar={})
    arrays = checkpoint_format.load(self.path)
    with self.assertRaisesRegex(ValueError, "corrupt config"):
      checkpoint_format.read_json(arrays, "config", self.path)
    with self.assertRaisesRegex(ValueError, "format 2; this version reads "
                                "format 1"):
      checkpoint_format.check_format(2, 1, self.path)
    checkpoint_format.check_format(1, 1, self.path)


if __name__ == "__main__":
  absltest.main()
