"""SchoolFlow: a Monte Carlo simulator of rural school consolidation plans."""

__version__ = "0.1.0"
