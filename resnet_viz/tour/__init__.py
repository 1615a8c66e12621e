"""The guided tour: its chapters, and the facts each quotes from records."""
