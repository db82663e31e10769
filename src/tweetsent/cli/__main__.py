"""`python -m tweetsent.cli ...`: the same as the `tweetsent` command."""

import sys

from tweetsent.cli import main

sys.exit(main())
