"""The guided tour: chapters with their views."""
