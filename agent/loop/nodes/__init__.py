"""The graph's nodes, one per file; each node's return type names its outgoing edges."""
