"""fedcut: should you buy small caps before the Fed cuts? Run `python run_backtest.py --help`."""

from fedcut import entry

if __name__ == "__main__":
    entry()
