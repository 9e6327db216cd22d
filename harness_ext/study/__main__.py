import sys

from nativeval.harness_ext.study.sample import main

sys.exit(main())
