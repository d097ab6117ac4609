"""One module (or package) per model, each exposing ``Config`` and ``run(config) -> Result``."""
