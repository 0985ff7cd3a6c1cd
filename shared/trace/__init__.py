"""Why a notification did or did not reach an installation (``GET …/installations/{id}/trace``)."""
