"""How people and programs reach the runtime: the command line (``cli``) and the HTTP service
(``service``). The top layer: nothing in ``agent`` imports it."""
