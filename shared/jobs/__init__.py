"""NH's import and export jobs: registration descriptions moved between the registry and the
user's Blob storage, in bounded, resumable queue steps (``api``, ``worker``)."""
