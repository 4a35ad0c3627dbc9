import sys

from dag_check.cli import main

sys.exit(main())
