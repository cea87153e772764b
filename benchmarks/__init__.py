"""The benchmarks, as the tests import them (`benchmarks.<name>`).

A benchmark runs as a script, with this folder as `sys.path[0]`, and imports
its neighbours (`_setup`, `common`) as top-level modules; imported as a
package module it needs this folder on `sys.path` too.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)
