"""essensys Connect: Send to Connect (clients) and its emulator; see docs/connect.md."""
