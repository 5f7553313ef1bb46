import sys

from tsreprog.cli.main import main

sys.exit(main())
