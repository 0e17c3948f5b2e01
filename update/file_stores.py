"""Which store a file handled by the update is of, for its ledger row: every file the ledger can link.

A processed file's store is the one it wrote; a refused, failed or skipped one names its store in its
lines' metadata (``company/store_id``, as the survey decided it), or, when no line names one (an empty or
unreadable file), in its name, ``{company}-{store}-{date}``, where the store is spelled as its name
slug (``carindale``), with its id (``carindale-g102``), or as the company's own name for it
(``local-grocer-north-sydney`` of "iga local grocer north sydney"). A file is never linked to a store
that does not exist yet: a refused file creates nothing.
"""
from __future__ import annotations

import re

from catalog.models import Store, fold_company_name

from .inbox import without_compression

# The name without its date, copy number and extensions: "aldi-carindale-g102".
_NAMED = re.compile(r"^(?P<stem>[^-.]+-[^.]+)-\d{4}-\d{2}-\d{2}(\.\d+)?\.jsonl$")


def slug(text: str) -> str:
    return "-".join(re.findall(r"[0-9a-z]+", text.casefold()))


def named_in(file_name: str) -> tuple[str, str] | None:
    """("aldi", "aldi-carindale-g102"): the company and the stem a file name says, if it follows the pattern."""
    match = _NAMED.match(without_compression(file_name))
    if match is None:
        return None
    stem = match["stem"].casefold()
    return stem.split("-", 1)[0], stem


def name_matches(stem: str, company: str, store_name: str, store_id: str) -> bool:
    """Does the stem of a file name ("aldi-carindale-g102") name this store of ``company``?"""
    own = stem[len(company) + 1:]  # the store part, after "company-"
    spellings = {slug(store_name), slug(f"{store_name} {store_id}"), slug(store_id)}
    return own in spellings or stem in spellings or (bool(store_id) and own.endswith("-" + slug(store_id)))


def store_of_file(store_text: str, file_name: str) -> Store | None:
    """The existing store a file is of: by its lines' ``company/store_id``, else by its name."""
    company, _, store_id = store_text.partition("/")
    if store_id:
        return (Store.objects.select_related("company")
                .filter(company__folded_name=fold_company_name(company), store_id=store_id).first())
    named = named_in(file_name)
    if named is None:
        return None
    company, stem = named
    # A company's stores, once per file whose lines name none: a few hundred rows at most.
    candidates = [s for s in Store.objects.select_related("company").filter(company__folded_name=fold_company_name(company))
                  if name_matches(stem, company, s.store_name, s.store_id)]
    return candidates[0] if len(candidates) == 1 else None
