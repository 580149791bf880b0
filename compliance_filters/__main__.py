import sys

from compliance_filters.cli import run

sys.exit(run())
