"""Find anything by its number: the kernel's search registry, the query parser and the search reader.

Apps register providers (one per kind of record, each naming the area a role must read to see it)
and document resolvers (an exact number → the audit references of that document); the kernel imports
no app. See :mod:`revops.core.search.registry`."""
