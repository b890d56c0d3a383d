"""The email channel: mailboxes, inbound mail (HTTP forwarders and IMAP polling), threading,
loop protection, and agents' replies sent by SMTP through the outbox.

Only this package knows about MIME. Inbound mail becomes the same calls the API makes
(``tickets.create.create_ticket``, ``tickets.update.add_message``); outbound mail is an outbox
delivery of channel ``email`` (``mail.outbound``), sent by the delivery worker.
"""
