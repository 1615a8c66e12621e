"""What every page shares and draws no view of its own: translated text, cached work, the sidebar and its selection,
the user's checkpoint, the lab service's handles and the page table."""
