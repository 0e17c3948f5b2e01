"""The ledger's figures in words, where the update's output, ``runs`` and the admin say them alike."""
from __future__ import annotations

# The rolled-back figures a summary line names: (count, singular, plural).
_ROLLED_BACK_SAID = (("products_created", "product created", "products created"),
                     ("products_updated", "product updated", "products updated"),
                     ("prices_created", "price created", "prices created"),
                     ("prices_updated", "price updated", "prices updated"),
                     ("prices_deleted", "price deleted", "prices deleted"))


def rolled_back_in_words(counts: dict) -> str:
    """"3 products created, 2 prices created": what a summary line says was rolled back."""
    said = [f"{counts[name]} {one if counts[name] == 1 else many}" for name, one, many in _ROLLED_BACK_SAID
            if counts.get(name)]
    return ", ".join(said) or "nothing written yet"
