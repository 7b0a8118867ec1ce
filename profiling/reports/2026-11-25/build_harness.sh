#!/bin/sh
# Builds book_harness with the project's Release flags (-O3, no -march) into build/profiling/.
set -e
cd "$(dirname "$0")/../../.."
mkdir -p build/profiling
g++ -std=c++20 -O3 -DNDEBUG -g -Iservices/lob_engine/core/include \
  -Iservices/feed_handler/native/include \
  profiling/reports/2026-11-25/book_harness.cpp services/feed_handler/native/src/itch_parser.cpp \
  -o build/profiling/${1:-book_harness}
