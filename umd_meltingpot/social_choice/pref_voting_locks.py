"""pref_voting on a read-only install: its lock files go to a user cache.

pref_voting (1.18) takes a `filelock.FileLock` beside its package data,
`pref_voting/data/voting_methods_properties.json.lock`, whenever a voting
method loads its properties, and `pref_voting.iterative_methods` does so on
import. Opening that lock file needs write access to site-packages, so on a
shared or system install (normal on clusters) every `umd` command that
counts votes died with a PermissionError.

The lock only guards pref_voting's own properties file against concurrent
writers, which this package never is. Importing this module (which
`voting.py` does before it imports pref_voting) points every lock that
pref_voting takes at a file in a writable folder of the user's: the same
data file still gets the same lock file, so two processes of one user still
exclude each other, and nothing is written under the install.
"""

import hashlib
import os
import pathlib
import tempfile
from typing import Any, Optional

import filelock
from pref_voting import voting_method

_ORIGINAL_LOCK = filelock.FileLock


def lock_folder() -> Optional[pathlib.Path]:
  """A writable folder for pref_voting's locks; None if there is none.

  `$XDG_CACHE_HOME/umd_meltingpot/locks` (default `~/.cache/...`), else a
  per-user folder in the system's temporary folder.
  """
  cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
      os.path.expanduser("~"), ".cache")
  user = getattr(os, "getuid", lambda: "user")()
  for folder in (pathlib.Path(cache) / "umd_meltingpot" / "locks",
                 pathlib.Path(tempfile.gettempdir())
                 / f"umd_meltingpot-locks-{user}"):
    try:
      folder.mkdir(parents=True, exist_ok=True)
    except OSError:
      continue
    if os.access(folder, os.W_OK):
      return folder
  return None


def redirected_lock(lock_file: Any, *args: Any, **kwargs: Any
                    ) -> filelock.BaseFileLock:
  """`filelock.FileLock(lock_file, ...)`, the file moved to `lock_folder()`.

  The new name keeps the old one's and adds a hash of its full path, so
  locks on different files stay different.
  """
  folder = lock_folder()
  if folder is None:  # Nowhere better: keep pref_voting's own place.
    return _ORIGINAL_LOCK(lock_file, *args, **kwargs)
  path = os.path.abspath(os.fspath(lock_file))
  digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]
  return _ORIGINAL_LOCK(folder / f"{os.path.basename(path)}-{digest}",
                        *args, **kwargs)


# pref_voting looks FileLock up in its module's globals at each call.
voting_method.FileLock = redirected_lock
