"""Views that several pages draw: the interactive graph (with its state and details panel), tables of counts,
the stage table and the comparison table. Below every page package; a page package imports no other page's."""
