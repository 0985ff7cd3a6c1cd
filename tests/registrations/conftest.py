from registry.conftest import nh

__all__ = ["nh"]
