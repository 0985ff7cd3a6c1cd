"""What devices report back about notifications: opens and actions (``POST …/events``)."""
