"""CareIntro: introduce a prospect to their named support engineer before the deal closes."""

__version__ = "0.1.0"
