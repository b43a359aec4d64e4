"""Notification options: imgreg's own (``[DEFAULT]``) and oslo.messaging's
``[oslo_messaging_notifications]``, with Glance's exchange as the default."""

from __future__ import annotations

import warnings

from oslo_config import cfg

# oslo.messaging imports oslo.service, which imports eventlet, which warns on import that it is
# deprecated. imgreg never runs eventlet (threads; nothing is monkey-patched), so the warning
# would only show every command's user and every log a library imgreg does not use.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import oslo_messaging as oslo_messaging  # re-exported to imgreg.services.messaging
    from oslo_messaging import opts as messaging_opts

notification_opts = [
    cfg.StrOpt(
        "default_publisher_id",
        default="image.localhost",
        help="publisher_id of the notifications imgreg sends.",
    ),
    cfg.ListOpt(
        "disabled_notifications",
        default=[],
        help="Notifications not to send: an event type (image.update) or a group, as Glance "
        "writes it (image) or as a pattern (image.*).",
    ),
]

# Where notifications go is oslo.messaging's own configuration, as in Glance:
# [oslo_messaging_notifications] driver (messagingv2, messaging, log, routing, test, noop; and
# imgreg's in-process ``memory``), transport_url (else [DEFAULT] transport_url), topics, retry.
# They are registered up front so the notifier can read them before it builds a transport;
# oslo-config-generator lists them under the oslo.messaging namespace.
MESSAGING_GROUP = "oslo_messaging_notifications"
# Glance's exchange, so consumers written for Glance (Ceilometer, indexers) hear imgreg too.
oslo_messaging.set_transport_defaults(control_exchange="glance")


def register_messaging_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's ``[oslo_messaging_notifications]`` options on ``conf``."""
    conf.register_opts(dict(messaging_opts.list_opts())[MESSAGING_GROUP], group=MESSAGING_GROUP)
