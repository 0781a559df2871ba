"""Examples that build on hypermeta without changing it: each module registers its own environment (docs/own_env.md)."""
