"""The operator's command line (``herald`` / ``python -m shared.admin``): how it finds the local
stack, reaches Herald, reads credentials from flags, and moves installations in and out."""
