import sys

from harness_ext.catalogue.model import main

sys.exit(main())
