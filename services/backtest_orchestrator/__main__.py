import sys

from minihft.services.backtest_orchestrator.replay_topics import main

sys.exit(main())
