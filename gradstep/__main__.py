"""``python -m gradstep``: the same as the ``gradstep`` command."""
import sys

from gradstep.cli.main import main

sys.exit(main())
