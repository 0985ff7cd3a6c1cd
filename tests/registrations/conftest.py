from registry.conftest import engine, nh

__all__ = ["engine", "nh"]
