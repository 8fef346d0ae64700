"""The gate's machinery: base revisions checked out in git worktrees, and the sweep run in batches of
separate processes, interleaved between sides, each importing its own side's code."""
