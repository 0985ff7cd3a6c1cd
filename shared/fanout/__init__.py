"""Resolving a send's audience: walk the index shard by shard and choose each device once."""
