"""``python -m course.multiworker``: one worker process (see :mod:`course.multiworker.worker`)."""

import sys

from course.multiworker.worker import worker_main

sys.exit(worker_main())
