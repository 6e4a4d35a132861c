"""Prompt-injection detection: signal patterns (``patterns``), the views of a text they are
matched on (``normalize``), the detector combining them (``detector``) and the neutralisation of
instructions found in untrusted text (``neutralize``)."""
