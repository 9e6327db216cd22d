import sys

from nativeval.harness_ext.testing.entry_point import main

sys.exit(main())
