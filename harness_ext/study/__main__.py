import sys

from harness_ext.study.runner import main

sys.exit(main())
