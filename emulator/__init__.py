"""A local stand-in for the Azure Functions host, Azurite and the push services.

The host loads a v1-model Python Functions app (one folder per function with function.json),
imports each folder under the ``__app__`` namespace as Azure's worker does, and runs its HTTP,
queue and timer triggers against Azure Storage (Azurite locally). It never imports the app's
own packages: it reaches them only through the function folders, exactly as the real host does.
"""
