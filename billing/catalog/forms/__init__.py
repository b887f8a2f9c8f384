"""Forms of the pricing-admin UI: typed fields → api.md payloads, service ``FieldError``s → inputs.

No pricing rule lives here. The catalog services and ``billing.catalog.validation`` decide what is
valid; these forms only reshape what was typed — numbers stay the decimal *strings* the user typed,
never floats — and put each error the services return next to the input it is about (a
``charges[2].properties.tiers[1].up_to`` error lands on tier row 2's "up to" input).

One module per form family: ``errors`` (service errors onto inputs), ``plans`` (plans, versions, draft
settings), ``charge_editor`` (the charge editor; the inputs of each pricing model are in
``charge_inputs``), ``simulator``, and ``products`` (products and meters)."""
