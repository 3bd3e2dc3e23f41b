"""Code both GT-Vision services share: events, bus, auth, logging, settings, value objects.

Imports no web framework.
"""
