"""fedcut: should you buy small caps before the Fed cuts? Run `python run_backtest.py --help`."""
import sys

from fedcut.cli import main

if __name__ == "__main__":
    sys.exit(main())
