"""Rate limits per API key (the ``limits`` library): in memory, or in Redis shared by every process."""
