"""Sandbox backends behind one interface: docker (default where an engine answers) and local."""
