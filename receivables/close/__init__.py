"""The month-end close (SPEC "Disputes, delinquency drivers and close"; docs/close.md): what
the close run produces beside the night's reports.  ``config`` holds ``close.yaml``'s model;
each part of the close (write-off proposals, handover packages, the expected-credit-loss
provision, claims for fees and interest) has a module of its own here.

Modules are imported by name: ``receivables.rules`` reads ``config``."""
