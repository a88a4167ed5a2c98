"""`python -m rasp.faces.cli`: the `rasp` command."""

import sys

from rasp.faces.cli import main

sys.exit(main())
