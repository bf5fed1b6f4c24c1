#!/usr/bin/env python3
"""Scripted call-quality campaign (same as ``skycall quality``); see ``--help``."""

import sys

from skycall.cli import main

if __name__ == "__main__":
    sys.exit(main(["quality", *sys.argv[1:]]))
