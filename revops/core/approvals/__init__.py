"""The approvals engine (maker-checker), a kernel service: apps register their kinds and previews."""
