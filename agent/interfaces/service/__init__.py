"""The HTTP service: a FastAPI gateway over one shared ``Tiller`` runtime.

    client ─▶ auth (API key → tenant, role, user) ─▶ rate limits ─▶ request shaping ─▶ runtime

``create_app`` builds the app (``agent.interfaces.service.app``); ``tiller serve`` runs it with uvicorn.
Runs execute on worker threads and stream their steps as server-sent events; the reviewer inbox
(``/review``) and the chat page (``/chat``) are server-rendered pages over the same API.
"""
