"""Label images: reading (:mod:`.io`), synthetic samples, periodisation, connectivity."""
