"""The ``gradstep`` command line: a thin layer over the public API (see :mod:`gradstep.cli.main`)."""
