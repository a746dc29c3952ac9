"""The station registry: township-level units, their social work stations and coverage."""
