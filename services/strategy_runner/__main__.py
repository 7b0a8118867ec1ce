import sys

from minihft.services.strategy_runner.app import main

sys.exit(main())
