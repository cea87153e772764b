"""Tests for umd_meltingpot.plots: summary.png, written atomically."""

from matplotlib import figure as mpl_figure
import numpy as np
from PIL import Image
import pytest

from umd_meltingpot import plots

OBJECTIVES = ["utilitarian", "egalitarian", "nash"]


def _record(
    round_: int, rounds: int = 5, *, proposed_differs: bool = True
) -> dict:
  """A synthetic rounds.jsonl record: the winner cycles through OBJECTIVES."""
  tally = [[3.0, 1.0, 0.0], [1.0, 3.0, 0.0], [1.0, 1.0, 2.0]][round_ % 3]
  phi = [0.1, min(0.2 * round_, 0.5), min(0.2 * round_, 0.9)]
  proposed = [0.1, 0.5, 0.9] if proposed_differs else list(phi)
  utilitarian = 12.0 + round_
  return {
      "round": round_,
      "rounds": rounds,
      "objectives": OBJECTIVES,
      "rule": "plurality",
      "ballots": [[1, 0, 0]] * 4,
      "tally": tally,
      "vote_shares": [v / sum(tally) for v in tally],
      "objective": OBJECTIVES[int(np.argmax(tally))],
      "objective_value": utilitarian,
      "phi_prev": [0.0, 0.0, 0.0],
      "phi_proposed": proposed,
      "phi": phi,
      "divergence": 0.2,
      "projection_changed": proposed_differs,
      "metrics": {
          "utilitarian": utilitarian,
          "egalitarian": 1.0,
          "nash": 2.3,
          "equality": 0.6,
          "productivity": utilitarian,
          "gini": 0.3,
          "perolat_U": 0.1,
      },
      "gross": [4.0, 4.0, 3.0, 2.0],
      "net": [3.0, 3.5, 3.0, 2.0],
      "tax": [1.0, 0.5, 0.0, 0.0],
      "transfer": [0.375] * 4,
      "returns": [3.375, 3.875, 3.375, 2.375],
      "apples_alive": 17.0 - round_,
  }


def _check_png(path) -> None:
  """Asserts `path` is a non-blank PNG of the summary's size."""
  with Image.open(path) as image:
    assert image.format == "PNG"
    pixels = np.asarray(image.convert("RGB"))
  assert pixels.shape == (800, 1200, 3)
  assert pixels.std() > 10  # Axes, lines and text, not a blank canvas.


@pytest.mark.parametrize("rounds", [1, 5])
def test_summary_is_a_png_and_leaves_no_temporary_file(tmp_path, rounds):
  records = [_record(r, rounds) for r in range(1, rounds + 1)]
  path = plots.write_summary(records, tmp_path / "summary.png")
  assert path == tmp_path / "summary.png"
  _check_png(path)
  assert [p.name for p in tmp_path.iterdir()] == ["summary.png"]


def test_summary_without_metrics_is_still_written(tmp_path):
  record = _record(1)
  record["metrics"] = {}
  _check_png(plots.write_summary([record], tmp_path / "summary.png"))


def test_summary_of_a_run_folder_is_summary_png(tmp_path):
  assert plots.write_summary([_record(1)], tmp_path) == (
      tmp_path / plots.SUMMARY_NAME
  )


def test_summary_of_no_rounds_is_rejected(tmp_path):
  with pytest.raises(ValueError, match="at least one round"):
    plots.write_summary([], tmp_path / "summary.png")


def test_failed_save_keeps_the_previous_summary(tmp_path, monkeypatch):
  path = tmp_path / "summary.png"
  plots.write_summary([_record(1)], path)
  before = path.read_bytes()

  def broken_savefig(self, fname, **kwargs):
    del self, kwargs
    with open(fname, "wb") as partial:
      partial.write(b"\x89PNG half")
    raise OSError("disk full")

  monkeypatch.setattr(mpl_figure.Figure, "savefig", broken_savefig)
  with pytest.raises(OSError, match="disk full"):
    plots.write_summary([_record(r) for r in range(1, 4)], path)
  assert path.read_bytes() == before
  assert [p.name for p in tmp_path.iterdir()] == ["summary.png"]


@pytest.mark.parametrize("differs, lines", [(False, 3), (True, 6)])
def test_proposal_is_drawn_only_when_the_projection_changed_it(
    differs, lines
):
  records = [_record(r, proposed_differs=differs) for r in range(1, 4)]
  rates = plots.summary_figure(records).axes[1]
  assert len(rates.get_lines()) == lines
  dashed = [line for line in rates.get_lines() if line.get_linestyle() == "--"]
  assert len(dashed) == lines - 3


def test_every_round_marks_its_winner():
  records = [_record(r) for r in range(1, 6)]
  votes = plots.summary_figure(records).axes[2]
  (winners,) = votes.collections
  assert [x for x, _ in winners.get_offsets()] == [1, 2, 3, 4, 5]
  # Bar edges are transparent except on the winning segment of each round.
  outlined = [bar for bar in votes.patches if bar.get_edgecolor()[3] > 0]
  assert len(outlined) == len(records)
