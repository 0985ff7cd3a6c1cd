"""Herald: a self-hosted push notification hub with the Notification Hubs data-plane API."""

__version__ = "0.1.0"
