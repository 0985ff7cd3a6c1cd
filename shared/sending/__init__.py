"""The send side, sans IO: parse a send request, build each device's message, and write NH's
answers about sends. Nothing here touches storage or the network.

Public entry points:

- ``request.parse_send_request(request, route, *, max_tags, now) -> SendRequest``;
  ``SendRequest.to_json()`` / ``SendRequest.from_json(text)`` for the notification's row.
- ``payloads.messages_for(request, device, *, template_matches=None) -> list[RenderResult]``,
  ``payloads.direct_messages(request)``, ``payloads.device_from_view(id, view)``;
  a ``RenderResult`` is a ``PushMessage`` or a ``RenderFailure`` (``.to_outcome()``).
- ``pacing.paced(items)``: an async iterator that gives the event loop a turn every 5 ms, for
  loops that render many targets.
- ``outcomes.nh_outcome(outcome, platform) -> NhOutcome``; ``outcomes.NotificationState``.
- ``reports.details_xml(report)``, ``reports.details_json(report)``,
  ``reports.notification_outcome_xml(results)``, ``reports.target_platforms_text(...)``.
"""
