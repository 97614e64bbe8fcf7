"""WebDataset shards: sample codec, deterministic tar writer, shard naming, sidecars and manifest,
and the safe streaming reader."""
