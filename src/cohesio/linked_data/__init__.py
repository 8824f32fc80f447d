"""Dereferenceable linked data: IRI ↔ URL mapping (:mod:`.links`), resource descriptions
(:mod:`.describe`) and the label search index (:mod:`.search`). Documented in docs/linked-data.md."""
