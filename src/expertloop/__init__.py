"""expertloop: run expert human-data programmes that train large language models."""

__version__ = "0.1.0"
