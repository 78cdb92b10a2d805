import sys

from mediatasks.cli.main import main

sys.exit(main())
