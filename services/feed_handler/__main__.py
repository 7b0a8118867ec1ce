import sys

from minihft.services.feed_handler.app import main

sys.exit(main())
