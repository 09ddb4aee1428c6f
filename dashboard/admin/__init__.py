"""The admin room (管理): audit log, users, sources, purge — each write through the core, audited.

``actions`` holds every write (the permission checked right before it, on the server);
``audit_view``, ``users``, ``sources`` and ``purge`` are the panels app_pages/admin.py lays out;
``common`` formats times (JST) and empty values (—).
"""
