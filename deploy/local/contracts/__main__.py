"""`python -m contracts write|check|compat|consumers`: see the package's docstring."""

import sys

from contracts.cli import main

sys.exit(main())
