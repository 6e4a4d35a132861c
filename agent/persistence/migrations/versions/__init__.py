"""The runtime's schema revisions, oldest first (``tiller db upgrade`` applies them)."""
