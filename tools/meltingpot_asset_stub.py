"""Writes the stand-in asset archive that lets dm-meltingpot build offline.

dm-meltingpot's setup.py downloads `meltingpot-assets-<version>.tar.gz` (TF
saved-model bots) unless it finds that file in `tempfile.gettempdir()`. The
host is unreachable here, so we write a tiny archive holding only an empty
`assets/` folder. Melting Pot then installs without its pretrained bots; our
bots are Python policies.
"""

import io
import os
import tarfile
import tempfile

ASSET_VERSION = "2.3.0"


def stub_path() -> str:
  return os.path.join(
      tempfile.gettempdir(), f"meltingpot-assets-{ASSET_VERSION}.tar.gz")


def write_stub(path: str) -> None:
  """Writes a tar.gz with `assets/saved_models/.keep`, atomically."""
  tmp = path + ".partial"
  with tarfile.open(tmp, "w:gz") as archive:
    for folder in ("assets", "assets/saved_models"):
      info = tarfile.TarInfo(folder)
      info.type = tarfile.DIRTYPE
      info.mode = 0o755
      archive.addfile(info)
    keep = tarfile.TarInfo("assets/saved_models/.keep")
    keep.size = 0
    archive.addfile(keep, io.BytesIO(b""))
  os.replace(tmp, path)


def main() -> None:
  path = stub_path()
  if os.path.exists(path):
    try:
      with tarfile.open(path) as archive:
        if any(name.startswith("assets") for name in archive.getnames()):
          print(f"meltingpot asset stub present: {path}")
          return
    except tarfile.TarError:
      pass  # A broken leftover: replace it.
  write_stub(path)
  print(f"meltingpot asset stub written: {path}")


if __name__ == "__main__":
  main()
