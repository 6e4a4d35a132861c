"""The LangGraph state machine: state, graph, nodes, call identity and results. Imports
models, checks, persistence and tools; never the runtime or the interfaces."""
