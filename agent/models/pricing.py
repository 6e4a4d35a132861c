"""Model prices (USD per 1M input / output tokens) and the cost of a model call.

Defaults cover common OpenAI models and the free local ones; ``TILLER_PRICE_FILE`` points at a
YAML file ``{model: {input: 0.15, output: 0.60}}`` that overrides or extends them. A model with no
price costs 0 and is reported as unpriced, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agent.errors import ConfigError

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "offline": (0.0, 0.0),
    "scripted": (0.0, 0.0),
    "replay": (0.0, 0.0),
    "llamacpp": (0.0, 0.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


@dataclass(frozen=True)
class PriceTable:
    """Model prices in USD per million input and output tokens, by model name (a price file adds more)."""

    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def price_of(self, model: str) -> tuple[float, float] | None:
        """Exact name first, then a priced provider prefix (``replay:`` turns are recordings and
        ``llamacpp:`` models run on your own hardware, whatever the model), then the name without
        its provider prefix or date suffix."""
        provider, _, bare = model.partition(":") if ":" in model else ("", "", model)
        for name in (model, provider, bare, bare.rsplit("-20", 1)[0]):
            if name in self.prices:
                return self.prices[name]
        return None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """The USD cost of a model call (0 for a model without a price)."""
        price = self.price_of(model)
        if price is None:
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        """The default prices plus those of a YAML price file (``{model: {input, output}}``); a bad
        file says what it expects."""
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(path.read_text()) or {}
            extra = {str(m): (float(p["input"]), float(p["output"])) for m, p in data.items()}
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"cannot read the price file {path} ({exc}); expected {{model: {{input: 0.15, output: 0.6}}}}"
            ) from None
        return cls({**DEFAULT_PRICES, **extra})
