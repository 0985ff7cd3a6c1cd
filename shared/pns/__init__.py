"""Senders for the push services: one module per PNS behind the Sender protocol in ``base``.

Public entry points (imported from their modules, so that ``base`` and ``urls`` stay cheap to
import for code that only needs ``Platform`` or the URL check):

- ``shared.pns.registry.build_sender(platform, credentials, options) -> Sender``
- ``shared.pns.urls.check_device_url(url, platform, *, allowed_test_hosts=()) -> str`` and
  ``check_service_url`` (the same allow-list for the Baidu and Xiaomi endpoints)
- ``shared.pns.options.PnsOptions`` (``PnsOptions.from_settings(settings)``)
- credentials: ``apns.ApnsCredentials``, ``fcm.FcmCredentials``, ``wns.WnsCredentials``,
  ``webpush.WebPushCredentials``, ``adm.AdmCredentials``, ``baidu.BaiduCredentials``,
  ``xiaomi.XiaomiCredentials`` (each ``from_dict`` / ``to_dict``)
"""
