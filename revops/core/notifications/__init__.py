"""In-app notifications: a message to one person about something that needs them or concerns them (the
outcome of their approval request), shown behind the bell in the sidebar and on /notifications/, and
emailed when an email backend is configured (``NOTIFICATION_EMAIL``), after the transaction commits."""
