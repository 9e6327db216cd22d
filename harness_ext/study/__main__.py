import sys

from nativeval.harness_ext.study.runner import main

sys.exit(main())
