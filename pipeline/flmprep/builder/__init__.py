"""Plan a build and build one shard: the plain-Python units of work that Spark or a process pool map."""
