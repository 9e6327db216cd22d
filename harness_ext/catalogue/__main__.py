import sys

from nativeval.harness_ext.catalogue.model import main

sys.exit(main())
