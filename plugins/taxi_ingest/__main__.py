import sys

from taxi_ingest.cli import main

sys.exit(main())
