"""flmprep: facial-landmark data preparation, from native annotations to WebDataset shards."""

__version__ = "0.1.0"
