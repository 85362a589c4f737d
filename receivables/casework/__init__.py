"""Collections casework between nights (SPEC "Collections casework between nights"): one
collection case per customer and company code while anything needs a person, carried from
night to night, deterministically from the extracts and the warehouse history.

- ``config``: the ``cases:`` rules of ``reporting.yaml`` (SLAs, contact outcomes, follow-up);
- ``facts``: what tonight knows about each account;
- ``lifecycle``: one account's case from one night to the next (the stage rules);
- ``cases``: every account's case for a night (``derive_cases``);
- ``case_worklist``: the collector worklist from the cases' due actions;
- ``collectors``: the collector view.

The modules are imported by name: ``reporting.yaml``'s model reads ``config``, and the rest
reads the reporting model, so this package imports nothing on its own.
"""
