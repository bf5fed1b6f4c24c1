"""Process runtime: how a process joins a flowgraph (:mod:`.node`) and the supervisor that runs them all."""
