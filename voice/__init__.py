"""voicefaq: an offline, hands-free voice assistant for a clinic's frequently asked questions."""

__version__ = "0.1.0"
