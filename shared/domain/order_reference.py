"""The order number a customer quotes in free text ("où est ma commande #1001 ?", "Order 1234").

Forms and the customer space have an order field; on the other channels the number is in the
words. A number found here is only a lookup key: the ticket is linked to an order only when the
customer owns an order with that number (ingest), so a false match costs one Query, nothing else.
"""

from __future__ import annotations

import re

_NUMBER = r"#?\s?(\d{3,12})"
_PATTERNS = (
    # "commande n° 1001", "cde 1001", "order #1001", "order number: 1001", "bestellung 1001"
    re.compile(
        r"\b(?:commande|cmde|cde|order|bestellung|pedido)\s*"
        r"(?:n\s?[°ºo]\.?|no\.?|num(?:[ée]ro)?\.?|number|nr\.?)?\s*:?\s*" + _NUMBER,
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w#&])#(\d{3,12})\b"),  # "#1001" on its own (Shopify's order names)
)
MAX_SCANNED = 2_000  # the number is near the start; a long email's quoted history is not read


def order_number_in(*texts: str | None) -> str | None:
    """``#<digits>`` for the first order reference in ``texts`` (subject first), else None."""
    for text in texts:
        if not text:
            continue
        head = text[:MAX_SCANNED]
        for pattern in _PATTERNS:
            found = pattern.search(head)
            if found:
                return f"#{found.group(1)}"
    return None
