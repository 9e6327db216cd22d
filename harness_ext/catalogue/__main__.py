import sys

from nativeval.harness_ext.catalogue.generate import main

sys.exit(main())
