"""Deployment tooling: the Bicep templates and the offline checks of them and of function.json."""
